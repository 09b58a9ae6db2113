package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"ritual"
	"ritual/store"
)

type messages struct{ s *Store }

// Save implements store.OfflineMessages.
func (x *messages) Save(ctx context.Context, m *store.OfflineMessage) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("sqlite: save message: %w", err)
	}
	if m.ID.IsZero() {
		m.ID = ritual.NewUUID()
	}
	if m.Sent.IsZero() {
		m.Sent = time.Now()
	}
	m.Sent = m.Sent.Truncate(time.Second).UTC()
	return x.s.inTx(ctx, "save message", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM offline_messages WHERE recipient = ?`, id(m.To)).Scan(&n); err != nil {
			return x.s.fail("save message", err)
		}
		if n >= store.MaxOfflineMessages {
			return fmt.Errorf("sqlite: save message for %s: %w: %d waiting", m.To, store.ErrFull, n)
		}
		bucket := m.Bucket
		if bucket == nil {
			bucket = []byte{}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO offline_messages
			(id, recipient, sender, from_name, dialog, text, bucket, region, pos_x, pos_y, pos_z, sent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id(m.ID), id(m.To), id(m.From), m.FromName, int(m.Dialog), m.Text, bucket, id(m.RegionID),
			m.Position.X, m.Position.Y, m.Position.Z, m.Sent.Unix())
		if err != nil {
			return x.s.fail("save message for "+m.To.String(), err)
		}
		return nil
	})
}

// Take implements store.OfflineMessages.
func (x *messages) Take(ctx context.Context, to ritual.UUID) ([]store.OfflineMessage, error) {
	var out []store.OfflineMessage
	err := x.s.inTx(ctx, "take messages", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, recipient, sender, from_name, dialog, text, bucket, region, pos_x, pos_y, pos_z, sent
			FROM offline_messages WHERE recipient = ? ORDER BY seq`, id(to))
		if err != nil {
			return x.s.fail("take messages", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m store.OfflineMessage
			var dialog int
			var sent int64
			if err := rows.Scan(uuidCol{&m.ID}, uuidCol{&m.To}, uuidCol{&m.From}, &m.FromName, &dialog, &m.Text, &m.Bucket,
				uuidCol{&m.RegionID}, &m.Position.X, &m.Position.Y, &m.Position.Z, &sent); err != nil {
				return x.s.fail("take messages", err)
			}
			m.Dialog = uint8(dialog)
			m.Sent = time.Unix(sent, 0).UTC()
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return x.s.fail("take messages", err)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `DELETE FROM offline_messages WHERE recipient = ?`, id(to)); err != nil {
			return x.s.fail("take messages", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
