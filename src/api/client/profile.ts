// Profiles (spec: Client-Server API, "Profiles").
import { Elysia, t } from "elysia";
import { getProfile, setProfileField } from "../../accounts/profile";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { notFound } from "../../http/errors";
import { requireUserId } from "../../rooms/ids";

const UserParams = t.Object({ userId: t.String() });

export function profileApi(hs: Homeserver, prefix: string) {
  const read = (userId: string, field: "displayname" | "avatar_url") => {
    const value = getProfile(hs, requireUserId(userId))[field];
    if (value === undefined) throw notFound(`The user has no ${field}`);
    return { [field]: value };
  };
  return new Elysia({ name: "api.profile", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/profile/:userId", ({ params }) => getProfile(hs, requireUserId(params.userId)), { params: UserParams })
    .get("/profile/:userId/displayname", ({ params }) => read(params.userId, "displayname"), { params: UserParams })
    .get("/profile/:userId/avatar_url", ({ params }) => read(params.userId, "avatar_url"), { params: UserParams })
    .put(
      "/profile/:userId/displayname",
      ({ params, body, requester }) => {
        hs.store.transaction(() => setProfileField(hs, requester.userId, params.userId, "displayname", body.displayname ?? null));
        return {};
      },
      { params: UserParams, body: t.Object({ displayname: t.Optional(t.Union([t.String(), t.Null()])) }) },
    )
    .put(
      "/profile/:userId/avatar_url",
      ({ params, body, requester }) => {
        hs.store.transaction(() => setProfileField(hs, requester.userId, params.userId, "avatar_url", body.avatar_url ?? null));
        return {};
      },
      { params: UserParams, body: t.Object({ avatar_url: t.Optional(t.Union([t.String(), t.Null()])) }) },
    );
}
