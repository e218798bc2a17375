// Third-party identifiers of accounts (spec: Client-Server API, "Adding Account
// Administrative Contact Information", and the requestToken endpoints of
// registration and password reset). See accounts/threepids.ts for why each
// answers as it does. GET /account/3pid is in account.ts.
import { Elysia, t } from "elysia";
import { forgetThreepid, refuseAddingContact, refuseContactVerification, refuseThreepidChange } from "../../accounts/threepids";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";

const RemoveBody = t.Object({ medium: t.String(), address: t.String(), id_server: t.Optional(t.String()) });

export function threepidsApi(hs: Homeserver, prefix: string) {
  // requestToken needs no login (spec: no security requirement on these endpoints).
  const open = new Elysia({ name: "api.threepids.open", seed: `${hs.instanceId}${prefix}`, prefix })
    .post("/account/3pid/email/requestToken", () => refuseAddingContact("email"))
    .post("/account/3pid/msisdn/requestToken", () => refuseAddingContact("msisdn"))
    .post("/register/email/requestToken", () => refuseContactVerification("email"))
    .post("/register/msisdn/requestToken", () => refuseContactVerification("msisdn"))
    .post("/account/password/email/requestToken", () => refuseContactVerification("email"))
    .post("/account/password/msisdn/requestToken", () => refuseContactVerification("msisdn"));

  const signedIn = new Elysia({ name: "api.threepids.signed-in", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post("/account/3pid/add", () => refuseThreepidChange(), {
      body: t.Object({ client_secret: t.String(), sid: t.String(), auth: t.Optional(t.Unknown()) }),
    })
    // Deprecated; clients sent the credentials as three_pid_creds or threePidCreds.
    .post("/account/3pid", () => refuseThreepidChange())
    .post("/account/3pid/bind", () => refuseThreepidChange(), {
      body: t.Object({ client_secret: t.String(), sid: t.String(), id_server: t.String(), id_access_token: t.String() }),
    })
    .post("/account/3pid/delete", () => forgetThreepid(), { body: RemoveBody })
    .post("/account/3pid/unbind", () => forgetThreepid(), { body: RemoveBody });

  return new Elysia({ name: "api.threepids", seed: `${hs.instanceId}${prefix}` }).use(open).use(signedIn);
}
