package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"ritual"
	"ritual/client"
	"ritual/login"
	"ritual/sim"
	"ritual/trace"
	"ritual/trace/cause"
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
	// faults are what the ritual went on without (see
	// client.Session.Faults): a ritual that completed with faults is not
	// whole.
	faults []cause.Cause
}

// whole reports whether the ritual completed without faults.
func (o ritualOutcome) whole() bool { return o.complete && len(o.faults) == 0 }

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
		if err == nil {
			// A region delivers ParcelProperties within milliseconds
			// of the first poll (OpenSimulator and Ritual alike): wait
			// for it, or for the session to tell that the event queue
			// delivers nothing (its fault is then in Faults).
			sess.WaitEventQueue(ctx)
		}
		out.faults = sess.Faults()
	}
	out.err = err
	out.complete = err == nil
	if sess != nil {
		// What the client saw of the region, for the report's map.
		trace.Emit(rec, worldView(sess))
	}
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

// tellOutcome writes to w, after prefix, why a ritual is not whole: the
// stall, or the faults it went on without. It says nothing of a whole
// ritual.
func tellOutcome(w io.Writer, prefix string, out ritualOutcome) {
	switch {
	case out.stall != nil:
		fmt.Fprintf(w, "%s: stalled at step %d: expected %s; last seen: %s", prefix, out.stall.Step, out.stall.Expected, out.stall.LastSeen)
		if f := out.stall.Fault; f != "" && f != string(cause.Unknown) {
			fmt.Fprintf(w, "; at fault: the %s", f)
		}
		fmt.Fprintln(w)
		for _, c := range out.stall.Causes {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	case !out.complete:
		fmt.Fprintf(w, "%s: the ritual did not complete: %v\n", prefix, out.err)
	case len(out.faults) > 0:
		fmt.Fprintf(w, "%s: the ritual completed but is not whole:\n", prefix)
		for _, c := range out.faults {
			fmt.Fprintf(w, "  - %s (at fault: the %s)\n", c, c.Fault)
		}
	}
}

func runConnect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("login-uri", "", "the grid's login URI, e.g. http://127.0.0.1:9000/")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	password := fs.String("password", "", "password (else $"+passwordEnv+", else one line of standard input)")
	format := fs.String("format", "md", "output: md (the story), jsonl (every event) or mermaid (sequence diagram)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the whole ritual may take (with --teleport, both rituals)")
	show := fs.Bool("show-secrets", false, "show session ids, password hashes and capability URLs instead of masking them")
	form := fs.String("login-form", "xmlrpc", "login wire form: xmlrpc or llsd")
	outDir := fs.String("out", "", "also write ritual.md, ritual.html, events.jsonl, ritual.mmd and terrain.png (when the terrain arrived) to this directory")
	startLoc := fs.String("start", "last", `start location: "last", "home" or "uri:Region&x&y&z"`)
	eqSilence := fs.Duration("eq-silence", client.DefaultEventQueueSilence, "how long the event queue may hold its polls and deliver nothing before that is told as a fault")
	teleportTo := fs.String("teleport", "", "once the ritual completes, teleport to Region/x/y/z and tell that ritual too")
	say := fs.String("say", "", "say `TEXT` on channel 0 once the ritual completes, then log out")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var dest teleportTarget
	if *teleportTo != "" {
		var err error
		if dest, err = parseTeleportTarget(*teleportTo); err != nil {
			fmt.Fprintf(stderr, "ritual connect: --teleport: %v\n", err)
			return 2
		}
	}
	if *eqSilence <= 0 {
		fmt.Fprintln(stderr, "ritual connect: --eq-silence must be positive")
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
		Start:    *startLoc,
		Recorder: rec,
		Logger:   quietLogger(),
		Timeouts: client.Timeouts{EventQueue: *eqSilence},
	}, rec, start, *teleportTo != "" || *say != "")
	var tpErr error
	if (*teleportTo != "" || *say != "") && out.session != nil {
		if *say != "" && out.whole() {
			if err := sayAndHear(ctx, out.session, *say); err != nil {
				fmt.Fprintf(stderr, "ritual connect: --say: %v\n", err)
				out.complete = false
			}
		}
		if *teleportTo != "" && out.whole() {
			tpErr = teleportRitual(ctx, out.session, dest)
		}
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		out.session.Logout(lctx)
		lcancel()
		out.session.Close()
	}

	nopt := narrative.Options{ClientName: "Ritual client (ritual connect)"}
	events := byTime(rec.Events())
	if err := render(stdout, *format, events, trace.Secrets(*show), nopt); err != nil {
		fmt.Fprintf(stderr, "ritual connect: %v\n", err)
		return 1
	}
	if *outDir != "" {
		res := &demoResult{events: events, complete: out.complete, err: out.err, stall: out.stall, waterHeight: sim.DefaultWaterHeight}
		if out.session != nil {
			res.terrain = out.session.Terrain()
			if r := out.session.Region(); r.WaterHeight > 0 {
				res.waterHeight = r.WaterHeight
			}
		}
		if err := writeOutputs(*outDir, res, trace.Secrets(*show), nopt); err != nil {
			fmt.Fprintf(stderr, "ritual connect: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "ritual connect: wrote the story, ritual.html and the event log to %s\n", *outDir)
	}
	if !out.whole() {
		tellOutcome(stderr, "ritual connect", out)
		if *teleportTo != "" {
			fmt.Fprintf(stderr, "ritual connect: no teleport to %s: the first ritual did not complete\n", *teleportTo)
		}
		return 1
	}
	if tpErr != nil {
		fmt.Fprintf(stderr, "ritual connect: the ritual at %s did not complete: %v\n", *teleportTo, tpErr)
		return 1
	}
	return 0
}

// teleportTarget is where --teleport goes: a region by name and a
// position in it.
type teleportTarget struct {
	region string
	pos    ritual.Vector3
}

// parseTeleportTarget reads Region/x/y/z (the region's name may hold
// spaces and slashes; the last three parts are the position in metres).
func parseTeleportTarget(s string) (teleportTarget, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 4 {
		return teleportTarget{}, fmt.Errorf("%q: want Region/x/y/z", s)
	}
	n := len(parts)
	t := teleportTarget{region: strings.TrimSpace(strings.Join(parts[:n-3], "/"))}
	if t.region == "" {
		return teleportTarget{}, fmt.Errorf("%q: no region name", s)
	}
	var xyz [3]float32
	for i, p := range parts[n-3:] {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 4096 {
			return teleportTarget{}, fmt.Errorf("%q: coordinate %q is not a position in a region (0 to 4096 m)", s, p)
		}
		xyz[i] = float32(f)
	}
	t.pos = ritual.Vector3{X: xyz[0], Y: xyz[1], Z: xyz[2]}
	return t, nil
}

// teleportRitual teleports sess to dest and waits for the ritual there to
// complete (arrival, objects, terrain); the session records both.
func teleportRitual(ctx context.Context, sess *client.Session, dest teleportTarget) error {
	start := time.Now()
	if _, err := sess.Teleport(ctx, dest.region, dest.pos, ritual.Vector3{X: 1}); err != nil {
		return err
	}
	return sess.WaitArrival(ctx, start)
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
