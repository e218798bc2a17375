-- A sender no longer gets a row of their own in event_push_actions to take back
-- the shared outcome of their own event (three index pages written per message):
-- recounts and GET /notifications leave out the user's own events by the
-- events table instead, and the live counter still takes the event back in
-- push_counts. The rows written before would now be subtracted twice.
DELETE FROM `event_push_actions`
WHERE `notify` = 0
  AND `notifications_delta` = -1
  AND `user_id` = (SELECT `sender` FROM `events` WHERE `events`.`stream_pos` = `event_push_actions`.`stream_pos`);
