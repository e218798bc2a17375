// `bun run build`: the single executable for this machine (dist/homeserver) and
// for a Raspberry Pi (dist/homeserver-linux-arm64). Migrations are embedded
// (imported as text), so the binary needs no other file.
import { $ } from "bun";

const targets: { target?: string; outfile: string }[] = [
  { outfile: "dist/homeserver" },
  { target: "bun-linux-arm64", outfile: "dist/homeserver-linux-arm64" },
];

const only = process.argv[2];
for (const { target, outfile } of targets) {
  if (only && only !== "native" && target !== only) continue;
  if (only === "native" && target) continue;
  const targetFlag = target ? [`--target=${target}`] : [];
  // --bytecode: JavaScriptCore bytecode compiled ahead of time, for a faster start.
  // Worker threads are extra entry points: the WAL checkpointer and the thumbnail maker.
  await $`bun build src/main.ts src/store/checkpointer.ts src/media/thumbnail-worker.ts --compile --minify --bytecode --sourcemap ${targetFlag} --outfile ${outfile}`;
  console.log(`built ${outfile}`);
}
