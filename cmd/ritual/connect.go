package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"ritual/client"
	"ritual/login"
	"ritual/trace"
	"ritual/trace/diagnose"
	"ritual/trace/narrative"
	"ritual/trace/seqdiagram"
)

func init() {
	register("connect", "log into any OpenSim-compatible grid and tell the story of the connection", runConnect)
}

// ritualOutcome is what one client ritual left behind.
type ritualOutcome struct {
	complete bool
	err      error
	stall    *trace.Stall
	session  *client.Session
}

// runRitual logs in with cfg and waits, within ctx, for the whole ritual:
// movement complete, objects seen, every terrain patch. On a stall it
// records the diagnosis in rec. It logs out (bounded) either way unless
// keep is set, in which case the caller owns the session.
func runRitual(ctx context.Context, cfg client.Config, rec *trace.Memory, start time.Time, keep bool) ritualOutcome {
	var out ritualOutcome
	sess, err := client.Login(ctx, cfg)
	if err == nil {
		out.session = sess
		err = sess.WaitRitual(ctx)
	}
	out.err = err
	out.complete = err == nil
	if !out.complete {
		// One diagnosis per story: the session's own when it made one
		// (it knows most), else one read from the events.
		for _, ev := range rec.Events() {
			if st, ok := ev.(*trace.Stall); ok {
				out.stall = st
			}
		}
		if out.stall == nil {
			if st := diagnose.Diagnose(rec.Events(), time.Since(start)); st != nil {
				out.stall = st
				trace.Emit(rec, st)
			}
		}
	}
	if sess != nil && !keep {
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, lerr := sess.Logout(lctx); lerr != nil && out.complete {
			slog.Debug("logout", "err", lerr)
		}
		cancel()
		sess.Close()
	}
	return out
}

func runConnect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("login-uri", "", "the grid's login URI, e.g. http://127.0.0.1:9000/")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	password := fs.String("password", "", "password (else $"+passwordEnv+", else one line of standard input)")
	format := fs.String("format", "md", "output: md (the story), jsonl (every event) or mermaid (sequence diagram)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the whole ritual may take")
	show := fs.Bool("show-secrets", false, "show session ids, password hashes and capability URLs instead of masking them")
	form := fs.String("login-form", "xmlrpc", "login wire form: xmlrpc or llsd")
	say := fs.String("say", "", "say `TEXT` on channel 0 once the ritual completes, then log out")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual connect: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *uri == "" || *first == "" || *last == "" {
		fmt.Fprintln(stderr, "ritual connect: --login-uri, --first and --last are required")
		return 2
	}
	if *format != "md" && *format != "jsonl" && *format != "mermaid" {
		fmt.Fprintf(stderr, "ritual connect: --format %q: want md, jsonl or mermaid\n", *format)
		return 2
	}
	var lf login.Format
	switch *form {
	case "xmlrpc":
		lf = login.FormatXMLRPC
	case "llsd":
		lf = login.FormatLLSD
	default:
		fmt.Fprintf(stderr, "ritual connect: --login-form %q: want xmlrpc or llsd\n", *form)
		return 2
	}
	pw, err := passwordFrom(fs, *password, *first+" "+*last, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ritual connect: %v\n", err)
		return 2
	}

	rec := &trace.Memory{}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	out := runRitual(ctx, client.Config{
		LoginURI: *uri, First: *first, Last: *last, Password: pw, Format: lf,
		Recorder: rec,
		Logger:   quietLogger(),
	}, rec, start, *say != "")
	if *say != "" && out.session != nil {
		if out.complete {
			if err := sayAndHear(ctx, out.session, *say); err != nil {
				fmt.Fprintf(stderr, "ritual connect: --say: %v\n", err)
				out.complete = false
			}
		}
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		out.session.Logout(lctx)
		lcancel()
		out.session.Close()
	}

	if err := render(stdout, *format, byTime(rec.Events()), trace.Secrets(*show), narrative.Options{ClientName: "Ritual client (ritual connect)"}); err != nil {
		fmt.Fprintf(stderr, "ritual connect: %v\n", err)
		return 1
	}
	if !out.complete {
		if out.stall != nil {
			fmt.Fprintf(stderr, "ritual connect: stalled at step %d: expected %s; last seen: %s\n", out.stall.Step, out.stall.Expected, out.stall.LastSeen)
			for _, c := range out.stall.Causes {
				fmt.Fprintf(stderr, "  - %s\n", c)
			}
		} else {
			fmt.Fprintf(stderr, "ritual connect: the ritual did not complete: %v\n", out.err)
		}
		return 1
	}
	return 0
}

// render writes events in the chosen format.
func render(w io.Writer, format string, events []trace.Event, show trace.Secrets, opt narrative.Options) error {
	switch format {
	case "jsonl":
		s := trace.NewWriterSink(w, show)
		for _, ev := range events {
			s.Record(ev)
		}
		return s.Flush()
	case "mermaid":
		return seqdiagram.Render(w, events, seqdiagram.Options{Show: show})
	}
	opt.Show = show
	return narrative.Render(w, events, opt)
}

// passwordFrom takes the password from the flag, else $RITUAL_PASSWORD,
// else one line of standard input.
func passwordFrom(fs *flag.FlagSet, flagValue, who string, stderr io.Writer) (string, error) {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "password" })
	if set {
		if flagValue == "" {
			return "", errors.New("empty --password")
		}
		return flagValue, nil
	}
	uf := newUserFlags("connect", stderr, false, true)
	pw, err := uf.passwordSource(who, stderr)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(pw), nil
}

// quietLogger discards operational logs: the commands tell their story
// through the observer instead.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// sayWait bounds how long --say waits to hear its own line back.
const sayWait = 5 * time.Second

// sayAndHear says text and waits until the region hands it back (a region
// sends speech to the speaker too), so the story shows it arrive.
func sayAndHear(ctx context.Context, s *client.Session, text string) error {
	if err := s.Say(text); err != nil {
		return err
	}
	t := time.NewTimer(sayWait)
	defer t.Stop()
	for {
		select {
		case ev := <-s.WorldEvents():
			if ev.Kind == client.ChatHeard && ev.Chat.SourceID == s.AgentID() && ev.Chat.Text == text {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("the region did not hand the line back within %v", sayWait)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.Done():
			return s.Err()
		}
	}
}
