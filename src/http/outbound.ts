// Outbound HTTPS from the server (push gateways, URL previews): the system's
// CAs plus, when configured, one more (`outbound_extra_ca_file`), for private
// deployments and test rigs whose gateways use a private CA.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { Config } from "../config";

export type OutboundTls = { ca: string[] } | undefined;

/** The `tls` option for Bun's fetch; undefined when the system's CAs are enough. */
export function outboundTls(config: Pick<Config, "outbound_extra_ca_file">): OutboundTls {
  const file = config.outbound_extra_ca_file;
  return file ? { ca: [...rootCertificates, readFileSync(file, "utf8")] } : undefined;
}
