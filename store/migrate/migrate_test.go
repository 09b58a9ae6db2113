package migrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// memDB is a database of recorded versions and executed SQL; a transaction
// changes it only on Commit.
type memDB struct {
	versions []int
	ran      []string
	failOn   string
}

type memTx struct {
	db       *memDB
	versions []int
	ran      []string
	done     bool
}

func (db *memDB) begin(context.Context) (Tx, error) {
	return &memTx{db: db, versions: slices.Clone(db.versions), ran: slices.Clone(db.ran)}, nil
}

func (t *memTx) Version(context.Context) (int, error) {
	if len(t.versions) == 0 {
		return 0, nil
	}
	return slices.Max(t.versions), nil
}

func (t *memTx) Exec(_ context.Context, sql string) error {
	if t.db.failOn != "" && sql == t.db.failOn {
		return errors.New("syntax error")
	}
	t.ran = append(t.ran, sql)
	return nil
}

func (t *memTx) Record(_ context.Context, v int, name string, _ time.Time) error {
	if name != Names[v-1] {
		return errors.New("wrong name")
	}
	t.versions = append(t.versions, v)
	return nil
}

func (t *memTx) Commit(context.Context) error {
	t.db.versions, t.db.ran, t.done = t.versions, t.ran, true
	return nil
}

func (t *memTx) Rollback(context.Context) error { return nil }

func steps() []string {
	s := make([]string, len(Names))
	for i := range s {
		s[i] = "step " + string(rune('A'+i))
	}
	return s
}

func TestRunFromEmptyAndFromEachVersion(t *testing.T) {
	ctx := context.Background()
	for start := 0; start <= Latest(); start++ {
		db := &memDB{}
		if _, to, err := RunTo(ctx, "mem", db.begin, steps(), start); err != nil || to != start {
			t.Fatalf("RunTo %d: %d, %v", start, to, err)
		}
		from, to, err := Run(ctx, "mem", db.begin, steps())
		if err != nil || from != start || to != Latest() {
			t.Fatalf("from %d: Run = %d, %d, %v", start, from, to, err)
		}
		if !slices.Equal(db.ran, steps()) {
			t.Errorf("from %d: ran %q", start, db.ran)
		}
		want := make([]int, Latest())
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(db.versions, want) {
			t.Errorf("from %d: recorded %v", start, db.versions)
		}
		// Again: nothing to do.
		if from, to, err := Run(ctx, "mem", db.begin, steps()); err != nil || from != Latest() || to != Latest() || len(db.ran) != Latest() {
			t.Errorf("second Run = %d, %d, %v, ran %d", from, to, err, len(db.ran))
		}
	}
}

func TestRunRefusesNewerAndWrongSteps(t *testing.T) {
	ctx := context.Background()
	db := &memDB{versions: []int{Latest() + 1}}
	if _, _, err := Run(ctx, "mem", db.begin, steps()); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("newer database: %v", err)
	}
	if _, _, err := Run(ctx, "mem", (&memDB{}).begin, steps()[1:]); err == nil {
		t.Error("too few steps accepted")
	}
	if _, _, err := RunTo(ctx, "mem", (&memDB{}).begin, steps(), Latest()+1); err == nil {
		t.Error("target beyond the latest accepted")
	}
}

func TestFailedStepIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	db := &memDB{failOn: steps()[Latest()-1]}
	_, to, err := Run(ctx, "mem", db.begin, steps())
	if err == nil || !strings.Contains(err.Error(), Names[Latest()-1]) {
		t.Fatalf("failing step: %v", err)
	}
	if to != Latest()-1 || len(db.versions) != Latest()-1 {
		t.Errorf("after a failed step: at %d, recorded %v", to, db.versions)
	}
}
