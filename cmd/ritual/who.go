package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"ritual/store"
)

func init() {
	register("who", "list who is online on a grid, and in which region", runWho)
}

func whoUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ritual who [--data DIR | --db URL]

Lists the agents online on the grid: their name, the region holding their
avatar and since when (their arrival there: login, teleport or crossing).
--data DIR is the SQLite database of a grid run with ritual serve --data;
--db postgres://user@host/database the PostgreSQL one shared by the
processes of ritual serve --db and ritual region.
`)
}

func runWho(args []string, stdout, stderr io.Writer) int {
	f := newUserFlags("who", stderr, false, false)
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = func() {}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := f.parse(args)
	if err == nil {
		err = who(ctx, f, stdout)
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		whoUsage(stderr)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ritual who: %v\n\n", err)
		whoUsage(stderr)
		return 2
	default:
		fmt.Fprintf(stderr, "ritual who: %v\n", err)
		return 1
	}
}

func who(ctx context.Context, f *userFlags, stdout io.Writer) error {
	st, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	gs, ok := st.(store.GridStore)
	if !ok {
		return errors.New("this store keeps no presence")
	}
	online, err := gs.Presence().List(ctx)
	if err != nil {
		return err
	}
	regions := map[string]string{}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREGION\tSINCE")
	for _, p := range online {
		name := p.Agent.String()
		if a, err := gs.Accounts().Get(ctx, p.Agent); err == nil {
			name = a.Name()
		}
		region, seen := regions[p.Region.String()]
		if !seen {
			region = p.Region.String()
			if r, err := gs.Regions().Get(ctx, p.Region); err == nil {
				region = r.Name
			}
			regions[p.Region.String()] = region
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, region, p.Updated.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
