package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ritual"
	"ritual/store"
)

type messages struct{ s *Store }

// Messages implements store.Store.
func (s *Store) Messages() store.OfflineMessages { return &s.messages }

// Save implements store.OfflineMessages.
func (x *messages) Save(ctx context.Context, m *store.OfflineMessage) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("postgres: save message: %w", err)
	}
	nm := *m
	if nm.ID.IsZero() {
		nm.ID = ritual.NewUUID()
	}
	if nm.Sent.IsZero() {
		nm.Sent = time.Now()
	}
	nm.Sent = nm.Sent.Truncate(time.Second).UTC()
	err := x.s.inTx(ctx, "save message", func(tx pgx.Tx) error {
		// The recipient's row, locked: concurrent saves for one account
		// count its mailbox one at a time.
		var one int
		switch err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, id(nm.To)).Scan(&one); {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: save message for %s: account %w", nm.To, store.ErrNotFound)
		case err != nil:
			return x.s.fail("save message", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM offline_messages WHERE recipient = $1`, id(nm.To)).Scan(&n); err != nil {
			return x.s.fail("save message", err)
		}
		if n >= store.MaxOfflineMessages {
			return fmt.Errorf("postgres: save message for %s: %w: %d waiting", nm.To, store.ErrFull, n)
		}
		_, err := tx.Exec(ctx, `INSERT INTO offline_messages
			(id, recipient, sender, from_name, dialog, text, bucket, region, pos_x, pos_y, pos_z, sent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			id(nm.ID), id(nm.To), id(nm.From), nm.FromName, int16(nm.Dialog), nm.Text, blob(nm.Bucket), id(nm.RegionID),
			nm.Position.X, nm.Position.Y, nm.Position.Z, nm.Sent)
		if err != nil {
			return x.s.fail("save message for "+nm.To.String(), err)
		}
		return nil
	})
	if err == nil {
		*m = nm
	}
	return err
}

// Take implements store.OfflineMessages.
func (x *messages) Take(ctx context.Context, to ritual.UUID) ([]store.OfflineMessage, error) {
	var out []store.OfflineMessage
	err := x.s.inTx(ctx, "take messages", func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, x.s, tx, "take messages", func(row pgx.Row) (store.OfflineMessage, error) {
			var m store.OfflineMessage
			var dialog int16
			err := row.Scan(uuidCol{&m.ID}, uuidCol{&m.To}, uuidCol{&m.From}, &m.FromName, &dialog, &m.Text, &m.Bucket,
				uuidCol{&m.RegionID}, &m.Position.X, &m.Position.Y, &m.Position.Z, &m.Sent)
			if err != nil {
				return m, err
			}
			if dialog < 0 || dialog > 255 {
				return m, fmt.Errorf("%w: message %s has dialog %d", ErrCorrupt, m.ID, dialog)
			}
			m.Dialog = uint8(dialog)
			m.Sent = m.Sent.UTC()
			return m, nil
		}, `WITH taken AS (DELETE FROM offline_messages WHERE recipient = $1 RETURNING *)
			SELECT id, recipient, sender, from_name, dialog, text, bucket, region, pos_x, pos_y, pos_z, sent
			FROM taken ORDER BY seq`, id(to))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
