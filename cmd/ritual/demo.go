package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"ritual"
	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/login"
	"ritual/observatory"
	"ritual/protocol/terrain"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/cause"
	"ritual/trace/narrative"
	"ritual/trace/seqdiagram"
)

func init() {
	register("demo", "server and client in one process on loopback, printing the story", runDemo)
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outDir := fs.String("out", "", "also write ritual.md, ritual.html, events.jsonl, ritual.mmd and terrain.png to this directory")
	format := fs.String("format", "md", "what to print: md (the story), jsonl (every event) or mermaid (sequence diagram)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the whole ritual may take")
	show := fs.Bool("show-secrets", false, "show session ids and capability URLs instead of masking them")
	form := fs.String("login-form", "xmlrpc", "login wire form: xmlrpc or llsd")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *format != "md" && *format != "jsonl" && *format != "mermaid" {
		fmt.Fprintf(stderr, "ritual demo: --format %q: want md, jsonl or mermaid\n", *format)
		return 2
	}
	lf := login.FormatXMLRPC
	if *form == "llsd" {
		lf = login.FormatLLSD
	} else if *form != "xmlrpc" {
		fmt.Fprintf(stderr, "ritual demo: --login-form %q: want xmlrpc or llsd\n", *form)
		return 2
	}
	res, err := demo(*timeout, lf)
	if err != nil {
		fmt.Fprintf(stderr, "ritual demo: %v\n", err)
		return 1
	}
	opt := demoOptions()
	if err := render(stdout, *format, res.events, trace.Secrets(*show), opt); err != nil {
		fmt.Fprintf(stderr, "ritual demo: %v\n", err)
		return 1
	}
	if *outDir != "" {
		if err := writeOutputs(*outDir, res, trace.Secrets(*show), opt); err != nil {
			fmt.Fprintf(stderr, "ritual demo: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "ritual demo: wrote ritual.md, ritual.html, events.jsonl, ritual.mmd and terrain.png to %s\n", *outDir)
	}
	if out := (ritualOutcome{complete: res.complete, err: res.err, stall: res.stall, faults: res.faults}); !out.whole() {
		tellOutcome(stderr, "ritual demo", out)
		return 1
	}
	return 0
}

func demoOptions() narrative.Options {
	return narrative.Options{ServerName: "Ritual grid (ritual serve, in process)", ClientName: "Ritual client library"}
}

// demoResult is what one demo run observed.
type demoResult struct {
	events      []trace.Event
	complete    bool
	err         error
	stall       *trace.Stall
	faults      []cause.Cause
	terrain     client.Terrain
	waterHeight float32
}

// demo starts a grid on ephemeral loopback ports with a temporary data
// directory and a Test User, runs the client against it and returns both
// sides' probe events, merged.
func demo(timeout time.Duration, form login.Format) (*demoResult, error) {
	quiet := quietLogger()
	dir, err := os.MkdirTemp("", "ritual-demo-")
	if err != nil {
		return nil, fmt.Errorf("temporary data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	rec := &trace.Memory{}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	srv, err := grid.Start(ctx, grid.Config{
		DataDir: dir, Listen: "127.0.0.1:0", RegionName: "Ritual Demo",
		Recorder: rec, Logger: quiet,
	})
	if err != nil {
		return nil, err
	}
	closeGrid := func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		srv.Close(cctx)
	}
	defer closeGrid()

	password := randomPassword()
	hash, err := account.Hash(password, account.DefaultParams)
	if err != nil {
		return nil, fmt.Errorf("hashing the demo password: %w", err)
	}
	acct := &store.Account{ID: ritual.NewUUID(), First: "Test", Last: "User", PasswordHash: hash}
	if err := srv.Store.Accounts().Create(ctx, acct); err != nil {
		return nil, fmt.Errorf("creating Test User: %w", err)
	}

	start := time.Now()
	out := runRitual(ctx, client.Config{
		LoginURI: srv.LoginURI(), First: acct.First, Last: acct.Last, Password: password,
		Format: form, Channel: "Ritual demo", Recorder: rec, Logger: quiet,
	}, rec, start, true)
	res := &demoResult{complete: out.complete, err: out.err, stall: out.stall, faults: out.faults, waterHeight: sim.DefaultWaterHeight}
	if out.session != nil {
		res.terrain = out.session.Terrain()
		if r := out.session.Region(); r.WaterHeight > 0 {
			res.waterHeight = r.WaterHeight
		}
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		out.session.Logout(lctx)
		lcancel()
		out.session.Close()
	}
	// Let the server record the circuit's end before the story is told.
	waitFor(rec, 2*time.Second, func(evs []trace.Event) bool {
		for _, ev := range evs {
			if c, ok := ev.(*trace.CircuitClosed); ok && c.Head().Side == trace.Server {
				return true
			}
		}
		return false
	})
	closeGrid()
	res.events = byTime(rec.Events())
	return res, nil
}

// byTime orders events by when they were observed (a stable sort: probes
// of one goroutine keep their order).
func byTime(evs []trace.Event) []trace.Event {
	slices.SortStableFunc(evs, func(a, b trace.Event) int {
		return a.Head().Time.Compare(b.Head().Time)
	})
	return evs
}

func waitFor(m *trace.Memory, d time.Duration, pred func([]trace.Event) bool) {
	deadline := time.After(d)
	for {
		ch := m.Changed()
		if pred(m.Events()) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			return
		}
	}
}

func randomPassword() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeOutputs(dir string, res *demoResult, show trace.Secrets, opt narrative.Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	files := map[string]func(io.Writer) error{
		"ritual.md": func(w io.Writer) error { opt.Show = show; return narrative.Render(w, res.events, opt) },
		"events.jsonl": func(w io.Writer) error {
			s := trace.NewWriterSink(w, show)
			for _, ev := range res.events {
				s.Record(ev)
			}
			return s.Flush()
		},
		"ritual.mmd": func(w io.Writer) error {
			return seqdiagram.Render(w, res.events, seqdiagram.Options{Show: show})
		},
		"ritual.html": func(w io.Writer) error {
			return observatory.Report(w, res.events, observatory.Options{Show: show, Narrative: opt})
		},
		"terrain.png": func(w io.Writer) error {
			if res.terrain.Heightmap == nil {
				return fmt.Errorf("no terrain was received")
			}
			return png.Encode(w, shade(res.terrain.Heightmap, res.waterHeight))
		},
	}
	names := []string{"ritual.md", "ritual.html", "events.jsonl", "ritual.mmd", "terrain.png"}
	if res.terrain.Heightmap == nil && !res.complete {
		// A ritual that stalled before the ground arrived has no picture;
		// the rest tells why.
		names = names[:4]
	}
	for _, name := range names {
		var buf bytes.Buffer
		if err := files[name](&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}

// shade draws a heightmap as a person sees land (observatory.Shade):
// water, sand, grass and rock by height, lit from the north-west. North is
// up.
func shade(h *terrain.Heightmap, water float32) image.Image {
	return observatory.Shade(h.W, h.H, h.Z, water, 1)
}
