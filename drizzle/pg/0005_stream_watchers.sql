CREATE TABLE "stream_watchers" (
	"stream_id" bigint NOT NULL,
	"node" text NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "stream_watchers_stream_id_node_pk" PRIMARY KEY("stream_id","node")
);
--> statement-breakpoint
-- Cross-node NOTIFY only where another node reads (issue 14 bar 4): a NOTIFY cost about a
-- quarter of a lone append's time (sequential appends 1,190-1,311 -> 1,566 ops/s without it),
-- and every node parsed every node's notifications. tether_append takes the writing node's tag
-- and notifies only while another node watches the stream. The 19-argument version goes: nodes
-- from before this migration notify always but register no watches, so every node must run
-- this version (no rolling upgrade across it; specs/scale-out.md).
DROP FUNCTION IF EXISTS tether_append(bigint, bigint, bigint, text, text, bigint, bigint, bigint, bytea, bigint, bigint, bigint, bigint, text, boolean, bigint, bigint, text, text);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tether_append(
  p_id bigint, p_prev_seq bigint, p_prev_pos bigint, p_known_stream_seq text,
  p_producer text, p_known_epoch bigint, p_known_seq bigint, p_now bigint,
  p_data bytea, p_count bigint, p_tail_seq bigint, p_tail_pos bigint, p_deadline bigint,
  p_stream_seq text, p_close boolean, p_epoch bigint, p_seq bigint,
  p_channel text, p_payload text, p_node text
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
  -- Other nodes hear of the append only if one of them has live readers of the stream
  -- (stream_watchers, pg-watches.ts). A node registering a watch takes this row's lock in
  -- share mode, so it either commits before this statement looks (and is told) or reads the
  -- stream after this append commits.
  IF EXISTS (SELECT 1 FROM stream_watchers w WHERE w.stream_id = p_id AND w.node <> p_node
             AND w.expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint) THEN
    PERFORM pg_notify(p_channel, p_payload);
  END IF;
  RETURN true;
END
$$;
