// Third-party identifiers (spec: Client-Server API, "Adding Account
// Administrative Contact Information"). This server sends no email and no SMS
// and talks to no identity server, so no account has a 3PID: the listing is
// empty, and each way of adding one answers the error Synapse gives when email
// and phone numbers are not configured. The `m.3pid_changes` capability says
// `enabled: false` to the same effect.
import { MatrixError } from "../http/errors";

export type ThreepidMedium = "email" | "msisdn";

/**
 * POST /account/3pid/{email,msisdn}/requestToken: 400
 * M_THREEPID_MEDIUM_NOT_SUPPORTED, "The homeserver does not support adding
 * email addresses / phone numbers" (the spec's code, as Synapse since MSC4178).
 * Checked before the body, so that a client can probe with an empty one.
 */
export function refuseAddingContact(medium: ThreepidMedium): never {
  throw new MatrixError(
    400,
    "M_THREEPID_MEDIUM_NOT_SUPPORTED",
    medium === "email" ? "Adding an email to your account is disabled on this server" : "Adding phone numbers to user account is not supported by this homeserver",
  );
}

/**
 * POST /register/{medium}/requestToken and /account/password/{medium}/requestToken:
 * 403 M_THREEPID_DENIED, "The homeserver does not permit the third-party
 * identifier as a contact option" (spec, registration and password reset).
 */
export function refuseContactVerification(medium: ThreepidMedium): never {
  throw new MatrixError(
    403,
    "M_THREEPID_DENIED",
    medium === "email" ? "Email-based verification is disabled on this server" : "Phone-number verification is disabled on this server",
  );
}

/**
 * POST /account/3pid/add, /account/3pid (deprecated) and /account/3pid/bind:
 * as Synapse with 3PID changes disabled, 400 M_FORBIDDEN. No validation session
 * can exist here, so the request could never succeed.
 */
export function refuseThreepidChange(): never {
  throw new MatrixError(400, "M_FORBIDDEN", "3PID changes are disabled on this server");
}

/**
 * POST /account/3pid/delete and /unbind: the account has no such 3PID and none
 * was bound through an identity server, so there is nothing to do;
 * "no-support": "the homeserver was unable to unbind the 3PID from the identity
 * server" as it knows of none (spec).
 */
export function forgetThreepid(): { id_server_unbind_result: "no-support" } {
  return { id_server_unbind_result: "no-support" };
}
