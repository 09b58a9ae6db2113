package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ritual"
	"ritual/store"
)

type accounts struct{ s *Store }

const accountCols = `id, first, last, password, created`

func scanAccount(row rowScanner) (store.Account, error) {
	var a store.Account
	var created int64
	if err := row.Scan(uuidCol{&a.ID}, &a.First, &a.Last, &a.PasswordHash, &created); err != nil {
		return store.Account{}, err
	}
	a.Created = fromMicros(created)
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
			return fmt.Errorf("sqlite: create account: %w: nil account at index %d", store.ErrInvalid, i)
		}
		if err := a.Validate(); err != nil {
			return fmt.Errorf("sqlite: create account: %w", err)
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
	err := x.s.inTx(ctx, "create account", func(tx *sql.Tx) error {
		byName, err := tx.PrepareContext(ctx, `SELECT first, last FROM accounts WHERE first = ? AND last = ?`)
		if err != nil {
			return x.s.fail("create account", err)
		}
		defer byName.Close()
		byID, err := tx.PrepareContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`)
		if err != nil {
			return x.s.fail("create account", err)
		}
		defer byID.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return x.s.fail("create account", err)
		}
		defer ins.Close()
		insFolder, err := tx.PrepareContext(ctx, `INSERT INTO inventory_folders (id, owner, parent, name, type, version) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return x.s.fail("create account", err)
		}
		defer insFolder.Close()

		for _, a := range accts {
			var f, l string
			switch err := byName.QueryRowContext(ctx, a.First, a.Last).Scan(&f, &l); {
			case err == nil:
				return fmt.Errorf("sqlite: create account %s: %w: %s %s", a.Name(), store.ErrExists, f, l)
			case !errors.Is(err, sql.ErrNoRows):
				return x.s.fail("create account "+a.Name(), err)
			}
			var one int
			switch err := byID.QueryRowContext(ctx, id(a.ID)).Scan(&one); {
			case err == nil:
				return fmt.Errorf("sqlite: create account %s: %w: id %s", a.Name(), store.ErrExists, a.ID)
			case !errors.Is(err, sql.ErrNoRows):
				return x.s.fail("create account "+a.Name(), err)
			}
			if _, err := ins.ExecContext(ctx, id(a.ID), a.First, a.Last, a.PasswordHash, micros(a.Created)); err != nil {
				return x.s.fail("create account "+a.Name(), err)
			}
			for _, f := range store.DefaultSkeleton(a.ID) {
				if _, err := insFolder.ExecContext(ctx, id(f.ID), id(f.Owner), nullID(f.Parent), f.Name, int(f.Type), f.Version); err != nil {
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
	a, err := scanAccount(x.s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id(aid)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("sqlite: account %s: %w", aid, store.ErrNotFound)
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
	a, err := scanAccount(x.s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE first = ? AND last = ?`, first, last))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("sqlite: account %q %q: %w", first, last, store.ErrNotFound)
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
	return queryAll(ctx, x.s, x.s.r, "list accounts", scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY first, last, id`)
}

// Delete implements store.Accounts.
func (x *accounts) Delete(ctx context.Context, aid ritual.UUID) error {
	return x.s.inTx(ctx, "delete account", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, id(aid))
		if err != nil {
			return x.s.fail("delete account "+aid.String(), err)
		}
		return affected(res, "account "+aid.String())
	})
}

// SetPassword implements store.Accounts.
func (x *accounts) SetPassword(ctx context.Context, aid ritual.UUID, hash string) error {
	if hash == "" || len(hash) > store.MaxPasswordHash {
		return fmt.Errorf("sqlite: set password of %s: %w: password string of %d bytes (1..%d)", aid, store.ErrInvalid, len(hash), store.MaxPasswordHash)
	}
	return x.s.inTx(ctx, "set password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password = ? WHERE id = ?`, hash, id(aid))
		if err != nil {
			return x.s.fail("set password of "+aid.String(), err)
		}
		return affected(res, "account "+aid.String())
	})
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	return nil
}
