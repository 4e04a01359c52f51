import type Database from 'better-sqlite3';
import { writeTransaction } from './tx.js';
import type { NewQueueMessage, QueueMessage, QueueRecord, QueueRepo, ReceivePlan, StoredAttributeValue } from '../types.js';

/**
 * SQLite persistence of the SQS-compatible queue service (tables of migration 3). The rules live
 * in src/queues; this file only applies them atomically: each call is one transaction, so two
 * receivers never take the same message and a FIFO group is never handed out twice.
 */

interface QueueRow {
  name: string;
  attributes: string;
  tags: string;
  created_at: number;
  last_modified: number;
  purged_at: number | null;
}

interface MessageRow {
  seq: number;
  id: string;
  queue: string;
  body: string;
  attributes: string | null;
  system_attributes: string | null;
  group_id: string | null;
  dedup_id: string | null;
  sequence_number: string | null;
  sent_at: number;
  visible_at: number;
  receive_count: number;
  first_received_at: number | null;
  receipt: string | null;
  dlq_source: string | null;
}

type Attrs = Record<string, StoredAttributeValue>;

function statements(db: Database.Database) {
  return {
    get: db.prepare<[string], QueueRow>('SELECT * FROM sqs_queues WHERE name = ?'),
    list: db.prepare<{ p: string; after: string; limit: number }, QueueRow>(
      `SELECT * FROM sqs_queues WHERE substr(name, 1, length(@p)) = @p AND name > @after ORDER BY name LIMIT @limit`,
    ),
    insert: db.prepare<[string, string, string, number, number]>(
      'INSERT OR IGNORE INTO sqs_queues (name, attributes, tags, created_at, last_modified) VALUES (?, ?, ?, ?, ?)',
    ),
    update: db.prepare<[string, number, string]>('UPDATE sqs_queues SET attributes = ?, last_modified = ? WHERE name = ?'),
    setTags: db.prepare<[string, string]>('UPDATE sqs_queues SET tags = ? WHERE name = ?'),
    deleteQueue: db.prepare<[string]>('DELETE FROM sqs_queues WHERE name = ?'),
    deleteMessages: db.prepare<[string]>('DELETE FROM sqs_messages WHERE queue = ?'),
    deleteDedup: db.prepare<[string]>('DELETE FROM sqs_dedup WHERE queue = ?'),
    purged: db.prepare<[number, string]>('UPDATE sqs_queues SET purged_at = ? WHERE name = ?'),
    nextSequence: db.prepare<[string], { sequence: number }>(
      'UPDATE sqs_queues SET sequence = sequence + 1 WHERE name = ? RETURNING sequence',
    ),
    dedupGet: db.prepare<[string, string, number], { message_id: string; sequence_number: string | null }>(
      'SELECT message_id, sequence_number FROM sqs_dedup WHERE queue = ? AND dedup_key = ? AND expires_at > ?',
    ),
    dedupPut: db.prepare<[string, string, string, string | null, number]>(
      'INSERT OR REPLACE INTO sqs_dedup (queue, dedup_key, message_id, sequence_number, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    dedupExpire: db.prepare<[string, number]>('DELETE FROM sqs_dedup WHERE queue = ? AND expires_at <= ?'),
    insertMessage: db.prepare<
      [string, string, string, string | null, string | null, string | null, string | null, string | null, number, number]
    >(
      `INSERT INTO sqs_messages (id, queue, body, attributes, system_attributes, group_id, dedup_id, sequence_number, sent_at, visible_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    expire: db.prepare<[string, number]>('DELETE FROM sqs_messages WHERE queue = ? AND sent_at < ?'),
    visible: db.prepare<{ q: string; now: number; n: number; cut: number }, MessageRow>(
      'SELECT * FROM sqs_messages WHERE queue = @q AND visible_at <= @now AND sent_at >= @cut ORDER BY visible_at, seq LIMIT @n',
    ),
    // FIFO: oldest first, skipping every group that has a message in flight.
    visibleFifo: db.prepare<{ q: string; now: number; n: number; cut: number }, MessageRow>(
      `SELECT * FROM sqs_messages WHERE queue = @q AND visible_at <= @now AND sent_at >= @cut
         AND group_id NOT IN (SELECT group_id FROM sqs_messages WHERE queue = @q AND visible_at > @now AND receive_count > 0)
       ORDER BY seq LIMIT @n`,
    ),
    markReceived: db.prepare<{ seq: number; receipt: string; until: number; now: number }>(
      `UPDATE sqs_messages SET receipt = @receipt, visible_at = @until, receive_count = receive_count + 1,
         first_received_at = COALESCE(first_received_at, @now) WHERE seq = @seq`,
    ),
    deadLetter: db.prepare<{ seq: number; dlq: string; source: string; now: number }>(
      `UPDATE sqs_messages SET queue = @dlq, dlq_source = @source, visible_at = @now, receive_count = 0,
         first_received_at = NULL, receipt = NULL WHERE seq = @seq`,
    ),
    bySeq: db.prepare<[number], MessageRow>('SELECT * FROM sqs_messages WHERE seq = ?'),
    deleteMessage: db.prepare<[number, string, string]>('DELETE FROM sqs_messages WHERE seq = ? AND queue = ? AND receipt = ?'),
    setVisibility: db.prepare<[number, number]>('UPDATE sqs_messages SET visible_at = ? WHERE seq = ?'),
    nextVisible: db.prepare<[string, number], { at: number | null }>(
      'SELECT MIN(visible_at) AS at FROM sqs_messages WHERE queue = ? AND visible_at > ?',
    ),
    counts: db.prepare<
      { q: string; now: number; cut: number },
      { visible: number | null; inflight: number | null; delayed: number | null }
    >(
      `SELECT SUM(visible_at <= @now) AS visible, SUM(visible_at > @now AND receive_count > 0) AS inflight,
              SUM(visible_at > @now AND receive_count = 0) AS delayed
       FROM sqs_messages WHERE queue = @q AND sent_at >= @cut`,
    ),
    peek: db.prepare<[string, number], MessageRow>('SELECT * FROM sqs_messages WHERE queue = ? ORDER BY seq LIMIT ?'),
  };
}

export function sqliteQueueRepo(db: Database.Database): QueueRepo {
  const s = statements(db);

  const deleteQueue = writeTransaction(db, (name: string): boolean => {
    s.deleteMessages.run(name);
    s.deleteDedup.run(name);
    return s.deleteQueue.run(name).changes > 0;
  });
  const purge = writeTransaction(db, (name: string, at: number) => {
    s.deleteMessages.run(name);
    s.purged.run(at, name);
  });

  const send = writeTransaction(db, (queue: string, messages: readonly NewQueueMessage[], fifo: boolean, now: number) => {
    if (fifo) s.dedupExpire.run(queue, now);
    return messages.map((m) => {
      if (m.dedup) {
        const earlier = s.dedupGet.get(queue, m.dedup.key, now);
        if (earlier) return { id: earlier.message_id, sequenceNumber: earlier.sequence_number };
      }
      const sequenceNumber = fifo ? sequenceString(s.nextSequence.get(queue)?.sequence ?? 0) : null;
      s.insertMessage.run(
        m.id,
        queue,
        m.body,
        m.attributes ? JSON.stringify(m.attributes) : null,
        m.systemAttributes ? JSON.stringify(m.systemAttributes) : null,
        m.groupId,
        m.dedupId,
        sequenceNumber,
        m.sentAt,
        m.visibleAt,
      );
      if (m.dedup) s.dedupPut.run(queue, m.dedup.key, m.id, sequenceNumber, m.dedup.expiresAt);
      return { id: m.id, sequenceNumber };
    });
  });

  const receive = writeTransaction(db, (plan: ReceivePlan) => {
    if (plan.sweep) s.expire.run(plan.queue, plan.expiredBefore);
    const taken: QueueMessage[] = [];
    let deadLettered = 0;
    // Dead-lettering frees slots, so look again (bounded: each pass moves or takes every row it sees).
    for (let pass = 0; pass < 10 && taken.length < plan.max; pass++) {
      const want = plan.max - taken.length;
      const rows = (plan.fifo ? s.visibleFifo : s.visible).all({ q: plan.queue, now: plan.now, n: want, cut: plan.expiredBefore });
      if (rows.length === 0) break;
      let moved = 0;
      for (const row of rows) {
        if (plan.redrive && row.receive_count >= plan.redrive.maxReceiveCount) {
          s.deadLetter.run({ seq: row.seq, dlq: plan.redrive.deadLetterQueue, source: plan.redrive.sourceArn, now: plan.now });
          moved++;
          continue;
        }
        const receipt = plan.newReceipt();
        s.markReceived.run({ seq: row.seq, receipt, until: plan.visibleUntil, now: plan.now });
        taken.push({
          ...toMessage(row),
          receipt,
          receiveCount: row.receive_count + 1,
          firstReceivedAt: row.first_received_at ?? plan.now,
        });
      }
      deadLettered += moved;
      if (moved === 0) break;
    }
    return { messages: taken, deadLettered };
  });

  const deleteMessage = writeTransaction(db, (queue: string, seq: number, receipt: string) => {
    if (s.deleteMessage.run(seq, queue, receipt).changes > 0) return 'deleted' as const;
    const row = s.bySeq.get(seq);
    return row && row.queue === queue ? ('stale' as const) : ('missing' as const);
  });

  const changeVisibility = writeTransaction(db, (queue: string, seq: number, receipt: string, now: number, visibleAt: number) => {
    const row = s.bySeq.get(seq);
    if (!row || row.queue !== queue) return 'missing' as const;
    if (row.receipt !== receipt) return 'stale' as const;
    if (row.visible_at <= now) return 'not-in-flight' as const;
    s.setVisibility.run(visibleAt, seq);
    return 'changed' as const;
  });

  return {
    get: (name) => {
      const row = s.get.get(name);
      return Promise.resolve(row ? toQueue(row) : undefined);
    },
    list: (prefix, afterName, limit) => Promise.resolve(s.list.all({ p: prefix, after: afterName ?? '', limit }).map(toQueue)),
    create: (r) =>
      Promise.resolve(s.insert.run(r.name, JSON.stringify(r.attributes), JSON.stringify(r.tags), r.createdAt, r.lastModified).changes > 0),
    update: (name, attributes, lastModified) => {
      s.update.run(JSON.stringify(attributes), lastModified, name);
      return Promise.resolve();
    },
    setTags: (name, tags) => {
      s.setTags.run(JSON.stringify(tags), name);
      return Promise.resolve();
    },
    delete: (name) => Promise.resolve(deleteQueue(name)),
    purge: (name, at) => {
      purge(name, at);
      return Promise.resolve();
    },
    send: (queue, messages, fifo, now) => Promise.resolve(send(queue, messages, fifo, now)),
    receive: (plan) => Promise.resolve(receive(plan)),
    deleteMessage: (queue, seq, receipt) => Promise.resolve(deleteMessage(queue, seq, receipt)),
    changeVisibility: (queue, seq, receipt, now, visibleAt) => Promise.resolve(changeVisibility(queue, seq, receipt, now, visibleAt)),
    nextVisibleAt: (queue, now) => Promise.resolve(s.nextVisible.get(queue, now)?.at ?? undefined),
    counts: (queue, now, expiredBefore) => {
      const row = s.counts.get({ q: queue, now, cut: expiredBefore });
      return Promise.resolve({ visible: row?.visible ?? 0, inFlight: row?.inflight ?? 0, delayed: row?.delayed ?? 0 });
    },
    peek: (queue, limit) => Promise.resolve(s.peek.all(queue, limit).map(toMessage)),
  };
}

/** SQS sequence numbers are 128-bit decimal strings; 20 digits keep them ordered as text too. */
function sequenceString(n: number): string {
  return String(n).padStart(20, '0');
}

function toQueue(row: QueueRow): QueueRecord {
  return {
    name: row.name,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    tags: JSON.parse(row.tags) as Record<string, string>,
    createdAt: row.created_at,
    lastModified: row.last_modified,
    purgedAt: row.purged_at,
  };
}

function toMessage(row: MessageRow): QueueMessage {
  return {
    seq: row.seq,
    id: row.id,
    body: row.body,
    attributes: row.attributes ? (JSON.parse(row.attributes) as Attrs) : null,
    systemAttributes: row.system_attributes ? (JSON.parse(row.system_attributes) as Attrs) : null,
    groupId: row.group_id,
    dedupId: row.dedup_id,
    sentAt: row.sent_at,
    visibleAt: row.visible_at,
    sequenceNumber: row.sequence_number,
    receiveCount: row.receive_count,
    firstReceivedAt: row.first_received_at,
    receipt: row.receipt,
    deadLetterSourceArn: row.dlq_source,
  };
}
