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

type accounts struct{ s *Store }

const accountCols = `id, first, last, password, created`

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	if err := row.Scan(uuidCol{&a.ID}, &a.First, &a.Last, &a.PasswordHash, &a.Created); err != nil {
		return store.Account{}, err
	}
	a.Created = utc(a.Created)
	return a, nil
}

// Create implements store.Accounts.
func (x *accounts) Create(ctx context.Context, accts ...*store.Account) error {
	if len(accts) == 0 {
		return x.s.live()
	}
	// Fill in IDs and times; restore the caller's values if nothing is
	// created.
	saved := make([]store.Account, len(accts))
	now := store.Timestamp(time.Now())
	for i, a := range accts {
		if a == nil {
			return fmt.Errorf("postgres: create account: %w: nil account at index %d", store.ErrInvalid, i)
		}
		if err := a.Validate(); err != nil {
			return fmt.Errorf("postgres: create account: %w", err)
		}
		saved[i] = *a
	}
	restore := func() {
		for i, a := range accts {
			*a = saved[i]
		}
	}
	for _, a := range accts {
		if a.ID.IsZero() {
			a.ID = ritual.NewUUID()
		}
		if a.Created.IsZero() {
			a.Created = now
		} else {
			a.Created = store.Timestamp(a.Created)
		}
	}
	err := x.s.inTx(ctx, "create account", func(tx pgx.Tx) error {
		for _, a := range accts {
			var f, l string
			switch err := tx.QueryRow(ctx, `SELECT first, last FROM accounts WHERE first_fold = $1 AND last_fold = $2`, fold(a.First), fold(a.Last)).Scan(&f, &l); {
			case err == nil:
				return fmt.Errorf("postgres: create account %s: %w: %s %s", a.Name(), store.ErrExists, f, l)
			case !errors.Is(err, pgx.ErrNoRows):
				return x.s.fail("create account "+a.Name(), err)
			}
			var one int
			switch err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`, id(a.ID)).Scan(&one); {
			case err == nil:
				return fmt.Errorf("postgres: create account %s: %w: id %s", a.Name(), store.ErrExists, a.ID)
			case !errors.Is(err, pgx.ErrNoRows):
				return x.s.fail("create account "+a.Name(), err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, first, last, first_fold, last_fold, password, created) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id(a.ID), a.First, a.Last, fold(a.First), fold(a.Last), a.PasswordHash, a.Created); err != nil {
				return x.s.fail("create account "+a.Name(), err)
			}
			sk := store.DefaultSkeleton(a.ID)
			rows := make([][]any, len(sk))
			for i, f := range sk {
				rows[i] = []any{id(f.ID), id(f.Owner), nullID(f.Parent), f.Name, int16(f.Type), f.Version}
			}
			// The root comes first, so its children's parent exists.
			for _, r := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO inventory_folders (id, owner, parent, name, type, version) VALUES ($1, $2, $3, $4, $5, $6)`, r...); err != nil {
					return x.s.fail("create inventory of "+a.Name(), err)
				}
			}
		}
		return nil
	})
	if err != nil {
		restore()
	}
	return err
}

// Get implements store.Accounts.
func (x *accounts) Get(ctx context.Context, aid ritual.UUID) (store.Account, error) {
	if err := x.s.live(); err != nil {
		return store.Account{}, err
	}
	a, err := scanAccount(x.s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id(aid)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, fmt.Errorf("postgres: account %s: %w", aid, store.ErrNotFound)
	}
	if err != nil {
		return store.Account{}, x.s.fail("get account "+aid.String(), err)
	}
	return a, nil
}

// ByName implements store.Accounts.
func (x *accounts) ByName(ctx context.Context, first, last string) (store.Account, error) {
	if err := x.s.live(); err != nil {
		return store.Account{}, err
	}
	a, err := scanAccount(x.s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE first_fold = $1 AND last_fold = $2`, fold(first), fold(last)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, fmt.Errorf("postgres: account %q %q: %w", first, last, store.ErrNotFound)
	}
	if err != nil {
		return store.Account{}, x.s.fail("get account by name", err)
	}
	return a, nil
}

// List implements store.Accounts.
func (x *accounts) List(ctx context.Context) ([]store.Account, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.pool, "list accounts", scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY first_fold, last_fold, id`)
}

// Delete implements store.Accounts.
func (x *accounts) Delete(ctx context.Context, aid ritual.UUID) error {
	return x.s.inTx(ctx, "delete account", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id(aid))
		if err != nil {
			return x.s.fail("delete account "+aid.String(), err)
		}
		return affected(tag, "account "+aid.String())
	})
}

// SetPassword implements store.Accounts.
func (x *accounts) SetPassword(ctx context.Context, aid ritual.UUID, hash string) error {
	if hash == "" || len(hash) > store.MaxPasswordHash {
		return fmt.Errorf("postgres: set password of %s: %w: password string of %d bytes (1..%d)", aid, store.ErrInvalid, len(hash), store.MaxPasswordHash)
	}
	return x.s.inTx(ctx, "set password", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET password = $1 WHERE id = $2`, hash, id(aid))
		if err != nil {
			return x.s.fail("set password of "+aid.String(), err)
		}
		return affected(tag, "account "+aid.String())
	})
}
