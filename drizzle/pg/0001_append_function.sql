-- One statement per append (issue 14: appends were round-trip bound). The writing node plans
-- the append in TypeScript (write-plan.ts) against what it last saw of the stream; this
-- function locks the stream row, checks that what the plan was made on still holds (tail,
-- closure, Stream-Seq, deadline, the producer's state) and only then writes the message, the
-- tail, the producer and the NOTIFY. It returns false, having written nothing, when anything
-- differs: the node then reads the rows under the lock and plans again (pg-writer.ts).
CREATE OR REPLACE FUNCTION tether_append(
  p_id bigint, p_prev_seq bigint, p_prev_pos bigint, p_known_stream_seq text,
  p_producer text, p_known_epoch bigint, p_known_seq bigint, p_now bigint,
  p_data bytea, p_count bigint, p_tail_seq bigint, p_tail_pos bigint, p_deadline bigint,
  p_stream_seq text, p_close boolean, p_epoch bigint, p_seq bigint,
  p_channel text, p_payload text
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  s record;
  pr record;
BEGIN
  SELECT tail_seq, tail_pos, closed, soft_deleted, last_stream_seq, deadline_at INTO s
    FROM streams WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR s.tail_seq <> p_prev_seq OR s.tail_pos <> p_prev_pos OR s.closed <> 0 OR s.soft_deleted <> 0
     OR s.last_stream_seq IS DISTINCT FROM p_known_stream_seq
     OR (s.deadline_at IS NOT NULL AND s.deadline_at <= p_now) THEN
    RETURN false;
  END IF;
  IF p_producer IS NOT NULL THEN
    -- A new statement, so a new snapshot: it sees what the last holder of the row lock committed.
    SELECT epoch, last_seq INTO pr FROM producers WHERE stream_id = p_id AND producer_id = p_producer;
    IF FOUND THEN
      IF p_known_epoch IS NULL OR pr.epoch <> p_known_epoch OR pr.last_seq <> p_known_seq THEN
        RETURN false;
      END IF;
    ELSIF p_known_epoch IS NOT NULL THEN
      RETURN false;
    END IF;
  END IF;
  IF p_data IS NOT NULL THEN
    INSERT INTO messages (stream_id, seq, end_pos, count, data) VALUES (p_id, p_tail_seq, p_tail_pos, p_count, p_data);
  END IF;
  UPDATE streams SET tail_seq = p_tail_seq, tail_pos = p_tail_pos, last_access_at = p_now, deadline_at = p_deadline,
      last_stream_seq = COALESCE(p_stream_seq, last_stream_seq),
      closed = CASE WHEN p_close THEN 1 ELSE closed END,
      closed_by_producer = CASE WHEN p_close THEN p_producer ELSE closed_by_producer END,
      closed_by_epoch = CASE WHEN p_close THEN p_epoch ELSE closed_by_epoch END,
      closed_by_seq = CASE WHEN p_close THEN p_seq ELSE closed_by_seq END
    WHERE id = p_id;
  IF p_producer IS NOT NULL THEN
    INSERT INTO producers (stream_id, producer_id, epoch, last_seq, updated_at) VALUES (p_id, p_producer, p_epoch, p_seq, p_now)
      ON CONFLICT (stream_id, producer_id) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq,
        updated_at = excluded.updated_at;
  END IF;
  PERFORM pg_notify(p_channel, p_payload);
  RETURN true;
END
$$;
