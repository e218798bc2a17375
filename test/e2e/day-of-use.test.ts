// A day of ordinary use with real clients (matrix-js-sdk, no crypto: the rooms
// are unencrypted so that the server can search them): an image and its
// thumbnail, replies, edits, reactions and threads, a mention that raises and
// then clears the highlight count, server-side search, the user directory and
// a space. What each user sees is asserted through the SDK's own models, and
// through plain HTTP where the SDK does not expose the server's answer.
import { expect, test } from "bun:test";
import { EventTimeline, type MatrixClient, type MatrixEvent, NotificationCountType, Preset, RelationType } from "matrix-js-sdk";
import { PNG } from "pngjs";
import {
  type Account,
  describeFailures,
  login,
  register,
  e2eSuite,
  startSdkClient,
  waitFor,
} from "./harness";

const suite = e2eSuite();
const clients = suite.clients;

/** An RGB gradient with a diagonal stripe: real pixels, so a thumbnail of it is a real resize. */
function makePng(width: number, height: number): Uint8Array<ArrayBuffer> {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const stripe = Math.abs(x - y) < 8;
      png.data[i] = stripe ? 255 : Math.round((x / width) * 255);
      png.data[i + 1] = stripe ? 255 : Math.round((y / height) * 255);
      png.data[i + 2] = 128;
      png.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

async function authedGet(account: Account, url: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${account.accessToken}` }, signal: AbortSignal.timeout(10_000) });
}

async function authedJson(account: Account, path: string, init: { method?: string; body?: unknown } = {}): Promise<any> {
  const response = await fetch(`${suite.server.baseUrl}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${account.accessToken}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** The event in the client's room, in the main timeline or any thread's, once it has arrived. */
function seen(client: MatrixClient, roomId: string, eventId: string): Promise<MatrixEvent> {
  return waitFor(`${client.getUserId()} to see ${eventId}`, () => {
    const room = client.getRoom(roomId);
    if (!room) return undefined;
    return room.findEventById(eventId) ?? room.getThreads().flatMap((thread) => thread.events).find((event) => event.getId() === eventId);
  });
}

test(
  "two users spend a day in rooms: media, replies, edits, reactions, threads, mentions, search, directory, spaces",
  async () => {
    const aliceAccount = await register(suite.server, "alice");
    const bobAccount = await register(suite.server, "bob");
    const carolAccount = await register(suite.server, "carol");
    const alice = await startSdkClient(suite.server, aliceAccount, { crypto: false, threadSupport: true });
    clients.push(alice);
    const bob = await startSdkClient(suite.server, bobAccount, { crypto: false, threadSupport: true });
    clients.push(bob);
    const serverName = aliceAccount.userId.slice(aliceAccount.userId.indexOf(":") + 1);
    try {
      // A display name that differs from the localpart, so that the mention and
      // the directory search must use the profile, not the user id.
      await bob.client.setDisplayName("Roberto Quillfeather");
      await alice.client.setDisplayName("Alice Marchetti");

      const { room_id: roomId } = await alice.client.createRoom({ preset: Preset.PrivateChat, name: "Team chat", invite: [bobAccount.userId] });
      await waitFor("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite");
      await bob.client.joinRoom(roomId);
      await waitFor("alice to see bob joined", () => alice.client.getRoom(roomId)?.getMember(bobAccount.userId)?.membership === "join");

      // 1. An image: uploaded, sent as m.image, downloaded by bob through the
      // authenticated media API, and thumbnailed.
      const image = makePng(240, 160);
      const { content_uri: mxc } = await alice.client.uploadContent(new Blob([image], { type: "image/png" }), { name: "gradient.png", type: "image/png" });
      expect(mxc).toStartWith(`mxc://${serverName}/`);
      const imageEvent = await alice.client.sendMessage(roomId, {
        msgtype: "m.image",
        body: "gradient.png",
        url: mxc,
        info: { w: 240, h: 160, mimetype: "image/png", size: image.byteLength },
      } as any);
      const bobsImage = await seen(bob.client, roomId, imageEvent.event_id);
      const imageContent = bobsImage.getContent();
      expect(imageContent.msgtype).toBe("m.image");
      expect(imageContent.info).toEqual({ w: 240, h: 160, mimetype: "image/png", size: image.byteLength });
      const downloadUrl = bob.client.mxcUrlToHttp(imageContent.url, undefined, undefined, undefined, false, true, true)!;
      expect(downloadUrl).toContain("/_matrix/client/v1/media/download/");
      // The authenticated endpoint refuses a request without a token...
      expect((await fetch(downloadUrl, { signal: AbortSignal.timeout(10_000) })).status).toBe(401);
      // ...and gives bob, who has one, the very bytes alice uploaded.
      const download = await authedGet(bobAccount, downloadUrl);
      expect(download.status).toBe(200);
      expect(download.headers.get("content-type")).toBe("image/png");
      expect(new Uint8Array(await download.arrayBuffer())).toEqual(image);
      const thumbnailUrl = bob.client.mxcUrlToHttp(imageContent.url, 32, 32, "crop", false, true, true)!;
      expect(thumbnailUrl).toContain("/_matrix/client/v1/media/thumbnail/");
      const thumbnail = await authedGet(bobAccount, thumbnailUrl);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get("content-type")).toBe("image/png");
      const thumbnailBytes = new Uint8Array(await thumbnail.arrayBuffer());
      expect(thumbnailBytes.byteLength).toBeLessThan(image.byteLength);
      const decodedThumbnail = PNG.sync.read(Buffer.from(thumbnailBytes));
      expect([decodedThumbnail.width, decodedThumbnail.height]).toEqual([32, 32]);
      // Asked for more than the image has, the server does not upscale: the original comes back.
      const large = await authedGet(bobAccount, bob.client.mxcUrlToHttp(imageContent.url, 640, 480, "scale", false, true, true)!);
      expect(large.status).toBe(200);
      const decodedLarge = PNG.sync.read(Buffer.from(await large.arrayBuffer()));
      expect([decodedLarge.width, decodedLarge.height]).toEqual([240, 160]);
      // Downloaded under a file name of bob's choosing, as a "save as" does.
      const namedUrl = new URL(downloadUrl);
      namedUrl.pathname += "/day-one.png";
      const saved = await authedGet(bobAccount, namedUrl.toString());
      expect(saved.status).toBe(200);
      expect(saved.headers.get("content-disposition")).toContain('filename="day-one.png"');
      expect(new Uint8Array(await saved.arrayBuffer())).toEqual(image);

      // 2. Reply, edit, reaction, thread.
      const question = await alice.client.sendTextMessage(roomId, "Lunch at noon at the usual place?");
      const bobsQuestion = await seen(bob.client, roomId, question.event_id);
      // Bob types his answer; alice's client shows him typing, then not.
      await bob.client.sendTyping(roomId, true, 10_000);
      await waitFor("alice to see bob typing", () => alice.client.getRoom(roomId)?.getMember(bobAccount.userId)?.typing === true);
      await bob.client.sendTyping(roomId, false, 0);
      await waitFor("alice to see bob stop typing", () => alice.client.getRoom(roomId)?.getMember(bobAccount.userId)?.typing === false);
      const reply = await bob.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: "> <@alice> Lunch at noon at the usual place?\n\nSounds good, see you there",
        "m.relates_to": { "m.in_reply_to": { event_id: question.event_id } },
      } as any);
      const alicesReply = await seen(alice.client, roomId, reply.event_id);
      expect(alicesReply.replyEventId).toBe(question.event_id);

      const edit = await alice.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: "* Lunch at half past twelve at the usual place?",
        "m.new_content": { msgtype: "m.text", body: "Lunch at half past twelve at the usual place?" },
        "m.relates_to": { rel_type: RelationType.Replace, event_id: question.event_id },
      } as any);
      // Bob's client applies the edit to the original event: it shows the new body.
      await waitFor("bob's client to apply the edit", () => bobsQuestion.replacingEventId() === edit.event_id);
      expect(bobsQuestion.getContent().body).toBe("Lunch at half past twelve at the usual place?");
      expect(bobsQuestion.getOriginalContent().body).toBe("Lunch at noon at the usual place?");
      // A second edit replaces the first: clients and the server's bundled
      // aggregation both show the latest one.
      const secondEdit = await alice.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: "* Lunch at one at the usual place?",
        "m.new_content": { msgtype: "m.text", body: "Lunch at one at the usual place?" },
        "m.relates_to": { rel_type: RelationType.Replace, event_id: question.event_id },
      } as any);
      await waitFor("bob's client to apply the second edit", () => bobsQuestion.replacingEventId() === secondEdit.event_id);
      expect(bobsQuestion.getContent().body).toBe("Lunch at one at the usual place?");
      const rawQuestion = await authedJson(bobAccount, `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(question.event_id)}`);
      expect(rawQuestion.unsigned["m.relations"]["m.replace"].event_id).toBe(secondEdit.event_id);
      expect(rawQuestion.content.body).toBe("Lunch at noon at the usual place?");

      const reaction = await bob.client.sendEvent(roomId, "m.reaction" as any, {
        "m.relates_to": { rel_type: RelationType.Annotation, event_id: question.event_id, key: "👍" },
      } as any);
      await waitFor("alice's client to count bob's reaction", () => {
        const annotations = alice.client.getRoom(roomId)?.relations.getChildEventsForEvent(question.event_id, RelationType.Annotation, "m.reaction");
        return annotations?.getSortedAnnotationsByKey()?.some(([key, events]) => key === "👍" && events.size === 1);
      });

      const threadRoot = await alice.client.sendTextMessage(roomId, "Ideas for the offsite? Reply in this thread");
      await seen(bob.client, roomId, threadRoot.event_id);
      const threadReplies: string[] = [];
      for (const body of ["A day at the lake", "Or the climbing hall"]) {
        const previous = threadReplies.at(-1) ?? threadRoot.event_id;
        const sent = await bob.client.sendMessage(roomId, threadRoot.event_id, {
          msgtype: "m.text",
          body,
          "m.relates_to": { rel_type: RelationType.Thread, event_id: threadRoot.event_id, is_falling_back: true, "m.in_reply_to": { event_id: previous } },
        } as any);
        threadReplies.push(sent.event_id);
      }
      const alicesThread = await waitFor("alice's client to show the thread with both replies", () => {
        const thread = alice.client.getRoom(roomId)?.getThread(threadRoot.event_id);
        return thread && thread.length === 2 && thread.replyToEvent?.getId() === threadReplies[1] ? thread : undefined;
      });
      expect(alicesThread.events.map((event) => event.getId())).toEqual(expect.arrayContaining(threadReplies));
      // Thread replies are not in the main timeline of a thread-aware client.
      const mainTimelineIds = alice.client.getRoom(roomId)!.getLiveTimeline().getEvents().map((event) => event.getId());
      expect(mainTimelineIds).toContain(threadRoot.event_id);
      expect(mainTimelineIds).not.toContain(threadReplies[0]);

      // What the server answers directly: /relations and /threads.
      const annotations = await bob.client.relations(roomId, question.event_id, RelationType.Annotation);
      expect(annotations.events.map((event) => event.getId())).toEqual([reaction.event_id]);
      const edits = await bob.client.relations(roomId, question.event_id, RelationType.Replace);
      expect(edits.events.map((event) => event.getId())).toEqual([secondEdit.event_id, edit.event_id]);
      const threadChildren = await alice.client.relations(roomId, threadRoot.event_id, RelationType.Thread);
      // Newest first, the default direction of /relations.
      expect(threadChildren.events.map((event) => event.getId())).toEqual([...threadReplies].reverse());
      const threads = await authedJson(bobAccount, `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/threads`);
      expect(threads.chunk.map((event: any) => event.event_id)).toEqual([threadRoot.event_id]);
      const threadSummary = threads.chunk[0].unsigned["m.relations"]["m.thread"];
      expect(threadSummary.count).toBe(2);
      expect(threadSummary.latest_event.event_id).toBe(threadReplies[1]);
      expect(threadSummary.current_user_participated).toBe(true);
      const participated = await authedJson(aliceAccount, `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/threads?include=participated`);
      // Alice wrote the root, which counts as taking part.
      expect(participated.chunk.map((event: any) => event.event_id)).toEqual([threadRoot.event_id]);

      // Bob takes his reaction back: alice's client drops it, and so does /relations.
      const unreact = await bob.client.redactEvent(roomId, reaction.event_id);
      await waitFor("alice's client to drop the redacted reaction", () => {
        const annotations = alice.client.getRoom(roomId)?.relations.getChildEventsForEvent(question.event_id, RelationType.Annotation, "m.reaction");
        return !annotations?.getSortedAnnotationsByKey()?.some(([key, events]) => key === "👍" && events.size > 0);
      });
      expect((await bob.client.relations(roomId, question.event_id, RelationType.Annotation)).events).toEqual([]);

      // 3. A mention: bob's highlight count rises, and a read receipt clears it.
      const bobsRoom = bob.client.getRoom(roomId)!;
      expect(bobsRoom.getUnreadNotificationCount(NotificationCountType.Highlight)).toBe(0);
      const mention = await alice.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: "Roberto Quillfeather, could you look at the budget spreadsheet before lunch?",
        "m.mentions": { user_ids: [bobAccount.userId] },
      } as any);
      const bobsMention = await seen(bob.client, roomId, mention.event_id);
      await waitFor("bob's highlight count to rise", () => bobsRoom.getUnreadNotificationCount(NotificationCountType.Highlight) === 1);
      await bob.client.sendReadReceipt(bobsMention);
      await waitFor("bob's highlight count to fall to 0", () => bobsRoom.getUnreadNotificationCount(NotificationCountType.Highlight) === 0);
      await waitFor("alice to see bob's read receipt on the mention", () => alice.client.getRoom(roomId)?.getEventReadUpTo(bobAccount.userId) === mention.event_id);
      // Naming bob in the body with an empty m.mentions is not a mention (spec
      // v1.7: with m.mentions present, the body is not searched for his name).
      const notAMention = await alice.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: "I told Roberto Quillfeather's manager about the offsite",
        "m.mentions": {},
      } as any);
      const bobsNotAMention = await seen(bob.client, roomId, notAMention.event_id);
      await waitFor("the message to count as unread but not highlighted", () => bobsRoom.getRoomUnreadNotificationCount(NotificationCountType.Total) === 1);
      expect(bobsRoom.getRoomUnreadNotificationCount(NotificationCountType.Highlight)).toBe(0);
      await bob.client.sendReadReceipt(bobsNotAMention);
      await waitFor("bob's unread count to fall to 0", () => bobsRoom.getRoomUnreadNotificationCount(NotificationCountType.Total) === 0);

      // A mention inside the thread counts for the thread, not the main timeline,
      // and a receipt in the thread clears it.
      const threadMention = await alice.client.sendMessage(roomId, threadRoot.event_id, {
        msgtype: "m.text",
        body: "Roberto Quillfeather, which lake did you have in mind?",
        "m.mentions": { user_ids: [bobAccount.userId] },
        "m.relates_to": { rel_type: RelationType.Thread, event_id: threadRoot.event_id, is_falling_back: true, "m.in_reply_to": { event_id: threadReplies[1] } },
      } as any);
      const bobsThreadMention = await seen(bob.client, roomId, threadMention.event_id);
      await waitFor("bob's thread highlight count to rise", () => bobsRoom.getThreadUnreadNotificationCount(threadRoot.event_id, NotificationCountType.Highlight) === 1);
      expect(bobsRoom.getRoomUnreadNotificationCount(NotificationCountType.Highlight)).toBe(0);
      expect(bobsRoom.getUnreadNotificationCount(NotificationCountType.Highlight)).toBe(1);
      await bob.client.sendReadReceipt(bobsThreadMention);
      await waitFor("bob's thread highlight count to fall to 0", () => bobsRoom.getThreadUnreadNotificationCount(threadRoot.event_id, NotificationCountType.Highlight) === 0);
      expect(bobsRoom.getUnreadNotificationCount(NotificationCountType.Highlight)).toBe(0);
      threadReplies.push(threadMention.event_id);

      // The SDK could have cleared its count on its own; the server's count is 0 too.
      const bobsSync = await authedJson(bobAccount, `/_matrix/client/v3/sync?timeout=0`);
      expect(bobsSync.rooms.join[roomId].unread_notifications).toEqual({ highlight_count: 0, notification_count: 0 });

      // Later bob opens the room on his phone, a new device with nothing cached:
      // its first sync alone must show the edit, the thread and no highlight.
      const phone = await startSdkClient(suite.server, await login(suite.server, "bob", "bob's phone"), { crypto: false, threadSupport: true });
      clients.push(phone);
      const phoneRoom = await waitFor("the room on bob's phone", () => phone.client.getRoom(roomId));
      const phoneQuestion = await seen(phone.client, roomId, question.event_id);
      await waitFor("the phone to apply the edit", () => phoneQuestion.getContent().body === "Lunch at one at the usual place?");
      expect(phoneRoom.getUnreadNotificationCount(NotificationCountType.Highlight)).toBe(0);
      expect(phoneRoom.getUnreadNotificationCount(NotificationCountType.Total)).toBe(0);
      await phoneRoom.fetchRoomThreads();
      const phoneThread = await waitFor("the thread on bob's phone", () => {
        const thread = phoneRoom.getThread(threadRoot.event_id);
        return thread && thread.length === 3 ? thread : undefined;
      });
      expect(phoneRoom.getThreads().map((thread) => thread.id)).toEqual([threadRoot.event_id]);
      await waitFor("the phone's thread to end with the latest reply", () => phoneThread.replyToEvent?.getId() === threadMention.event_id);
      // Scrolling up on the phone reaches the image from the morning, through /messages.
      await waitFor("the phone to scroll back to the image", async () => {
        if (phoneRoom.findEventById(imageEvent.event_id)) return true;
        if (!phoneRoom.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS)) return false;
        await phone.client.scrollback(phoneRoom, 10);
        return false;
      });
      expect(phoneRoom.findEventById(imageEvent.event_id)?.getContent().url).toBe(mxc);

      // 4. Search. Alice and carol share a room bob is not in.
      const carol = await startSdkClient(suite.server, carolAccount, { crypto: false });
      clients.push(carol);
      const { room_id: privateRoomId } = await alice.client.createRoom({ preset: Preset.PrivateChat, name: "Surprise party", invite: [carolAccount.userId] });
      await waitFor("carol's invite", () => carol.client.getRoom(privateRoomId)?.getMyMembership() === "invite");
      await carol.client.joinRoom(privateRoomId);
      await alice.client.sendTextMessage(privateRoomId, "The party is at the zanzibar lounge, keep it quiet");

      const budget = await bob.client.searchRoomEvents({ term: "spreadsheet" });
      expect(budget.results.map((result) => result.context.getEvent().getId())).toEqual([mention.event_id]);
      expect(budget.results[0]!.context.getEvent().getContent().body).toContain("budget spreadsheet");
      expect(budget.count).toBe(1);
      expect(budget.highlights).toContain("spreadsheet");
      // The SDK asks for one event of context either side: the redaction of the
      // reaction before, the message that names bob without mentioning him after.
      expect(budget.results[0]!.context.getTimeline().map((event) => event.getId())).toEqual([unreact.event_id, mention.event_id, notAMention.event_id]);
      const rawSearch = await authedJson(bobAccount, "/_matrix/client/v3/search", { method: "POST", body: budget._query });
      const rawContext = rawSearch.search_categories.room_events.results[0].context;
      expect(rawContext.events_before.map((event: any) => event.event_id)).toEqual([unreact.event_id]);
      expect(rawContext.events_after.map((event: any) => event.event_id)).toEqual([notAMention.event_id]);
      expect(rawContext.profile_info[aliceAccount.userId]).toMatchObject({ displayname: "Alice Marchetti" });
      // Alice, who is in that room, finds the word; bob does not.
      const alicesParty = await alice.client.searchRoomEvents({ term: "zanzibar" });
      expect(alicesParty.results).toHaveLength(1);
      const bobsParty = await bob.client.searchRoomEvents({ term: "zanzibar" });
      expect(bobsParty.results).toHaveLength(0);
      expect(bobsParty.count ?? 0).toBe(0);

      // 5. The user directory: alice finds bob by part of his display name.
      const directory = await alice.client.searchUserDirectory({ term: "quillf" });
      expect(directory.results).toEqual([expect.objectContaining({ user_id: bobAccount.userId, display_name: "Roberto Quillfeather" })]);
      // Alice renames herself: bob's client shows the new name in their room.
      await alice.client.setDisplayName("Alice M.");
      await waitFor("bob's client to show alice's new name", () => bob.client.getRoom(roomId)?.getMember(aliceAccount.userId)?.name === "Alice M.");
      expect((await bob.client.searchUserDirectory({ term: "Alice M" })).results.map((user) => user.display_name)).toEqual(["Alice M."]);
      // Bob shares no room with carol and she is in no public room: he does not find her, alice does.
      expect((await bob.client.searchUserDirectory({ term: "carol" })).results).toEqual([]);
      expect((await alice.client.searchUserDirectory({ term: "carol" })).results.map((user) => user.user_id)).toEqual([carolAccount.userId]);

      // 6. A space with two rooms: "Planning" open to the space's members (a
      // restricted join rule, as clients create "visible to space members"
      // rooms), "Random" by invitation only.
      const { room_id: spaceId } = await alice.client.createRoom({
        preset: Preset.PrivateChat,
        name: "Team space",
        creation_content: { type: "m.space" },
        invite: [bobAccount.userId],
      });
      const childIds: string[] = [];
      for (const name of ["Planning", "Random"]) {
        const restricted = name === "Planning";
        const { room_id: childId } = await alice.client.createRoom({
          preset: Preset.PrivateChat,
          name,
          initial_state: [
            { type: "m.space.parent", state_key: spaceId, content: { via: [serverName], canonical: true } },
            ...(restricted
              ? [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: spaceId }] } }]
              : []),
          ],
        });
        await alice.client.sendStateEvent(spaceId, "m.space.child" as any, { via: [serverName] }, childId);
        childIds.push(childId);
      }
      const [planningId, randomId] = childIds as [string, string];
      const hierarchy = await alice.client.getRoomHierarchy(spaceId);
      const byId = new Map(hierarchy.rooms.map((room) => [room.room_id, room]));
      expect(byId.get(spaceId)?.room_type).toBe("m.space");
      expect(byId.get(spaceId)?.name).toBe("Team space");
      expect(
        byId
          .get(spaceId)
          ?.children_state.map((event) => event.state_key)
          .sort(),
      ).toEqual([...childIds].sort());
      expect(byId.get(spaceId)?.children_state.every((event) => (event.content as { via?: string[] }).via?.[0] === serverName)).toBe(true);
      expect(childIds.map((id) => byId.get(id)?.name)).toEqual(["Planning", "Random"]);
      // The SDK's type lists only public and knock, but the spec's field carries any join rule.
      expect(byId.get(planningId)?.join_rule as string | undefined).toBe("restricted");
      expect((byId.get(planningId) as { allowed_room_ids?: string[] } | undefined)?.allowed_room_ids).toEqual([spaceId]);
      expect(hierarchy.rooms).toHaveLength(3);
      // A client that pages through the hierarchy one room at a time sees the same rooms.
      const paged: string[] = [];
      let from: string | undefined;
      do {
        const page = await alice.client.getRoomHierarchy(spaceId, 1, undefined, false, from);
        expect(page.rooms.length).toBeLessThanOrEqual(1);
        paged.push(...page.rooms.map((room) => room.room_id));
        from = page.next_batch;
      } while (from && paged.length < 10);
      expect(paged).toEqual(hierarchy.rooms.map((room) => room.room_id));
      // Alice's client sees the space as a space, and its children and their parent through state.
      const alicesSpace = await waitFor("alice's client to have the space", () => alice.client.getRoom(spaceId));
      expect(alicesSpace.isSpaceRoom()).toBe(true);
      await waitFor("alice's client to have both m.space.child events", () => alicesSpace.currentState.getStateEvents("m.space.child").length === 2);
      const alicesPlanning = await waitFor("alice's client to have Planning", () => alice.client.getRoom(planningId));
      expect(alicesPlanning.currentState.getStateEvents("m.space.parent", spaceId)?.getContent()).toEqual({ via: [serverName], canonical: true });

      // Bob joins the space. He may join Planning through it, so the hierarchy
      // shows it to him; Random, to which he has no invitation, it does not.
      await waitFor("bob's invite to the space", () => bob.client.getRoom(spaceId)?.getMyMembership() === "invite");
      await bob.client.joinRoom(spaceId);
      const bobsHierarchy = await bob.client.getRoomHierarchy(spaceId);
      expect(bobsHierarchy.rooms.map((room) => room.room_id).sort()).toEqual([spaceId, planningId].sort());
      expect(bobsHierarchy.rooms.find((room) => room.room_id === planningId)?.name).toBe("Planning");
      await bob.client.joinRoom(planningId, { viaServers: [serverName] });
      await waitFor("alice to see bob join Planning", () => alice.client.getRoom(planningId)?.getMember(bobAccount.userId)?.membership === "join");
      await expect(bob.client.joinRoom(randomId, { viaServers: [serverName] })).rejects.toMatchObject({ httpStatus: 403 });

      // The SDK asks for MatrixRTC transports (MSC4143), which the server does not
      // implement and rightly answers 404 M_UNRECOGNIZED, and bob's join of Random
      // is meant to be refused; anything else refused is a failure.
      const expectedRefusals = ["/unstable/org.matrix.msc4143/rtc/transports -> 404", `/join/${encodeURIComponent(randomId)} -> 403`];
      const refused = describeFailures(...clients)
        .split("\n")
        .filter((line) => line && !expectedRefusals.some((expected) => line.includes(expected)));
      expect(refused).toEqual([]);
    } catch (error) {
      const failures = describeFailures(...clients);
      const serverLog = suite.server.log.slice(-3000);
      // The stack names the failing line, which the rethrown error would hide.
      throw new Error(
        `${(error as Error).stack ?? (error as Error).message}${failures ? `\nrequests the server refused:\n${failures}` : ""}${serverLog ? `\nserver log (end):\n${serverLog}` : ""}`,
      );
    }
  },
  60_000,
);
