package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"ritual/proxy"
	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/seqdiagram"
)

func init() {
	register("proxy", "relay any viewer to any grid and tell the story of every session, both sides", runProxy)
}

func runProxy(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return proxyUntil(ctx, args, stdout, stderr)
}

// proxyUntil runs the proxy until ctx is done (SIGINT or SIGTERM), then
// ends every open session's story.
func proxyUntil(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", "", "the real grid's login URI, e.g. http://127.0.0.1:9000/")
	listen := fs.String("listen", proxy.DefaultListen, "HOST:PORT clients use as their login URI (http://HOST:PORT/)")
	public := fs.String("public-host", "", "IP written into rewritten replies (default: the listen host)")
	outDir := fs.String("out", "", "write each session's events.jsonl (as it happens), ritual.md and ritual.mmd under DIR/<first>-<last>-<UTC time>/")
	format := fs.String("format", "md", "story printed at each session's end without --out: md, jsonl or mermaid")
	show := fs.Bool("show-secrets", false, "show session ids and capability URLs instead of masking them")
	stallAfter := fs.Duration("stall-after", proxy.DefaultStallAfter, "end a session whose ritual made no progress for this long, with a diagnosis")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual proxy: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *upstream == "" {
		fmt.Fprintln(stderr, "ritual proxy: --upstream is required")
		return 2
	}
	if *format != "md" && *format != "jsonl" && *format != "mermaid" {
		fmt.Fprintf(stderr, "ritual proxy: --format %q: want md, jsonl or mermaid\n", *format)
		return 2
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "ritual proxy: %v\n", err)
			return 1
		}
	}
	w := &storyWriter{dir: *outDir, format: *format, show: trace.Secrets(*show), stdout: stdout, stderr: stderr, dirs: map[*proxy.Session]string{}}
	cfg := proxy.Config{
		Upstream: *upstream, Listen: *listen, PublicHost: *public, StallAfter: *stallAfter,
		Ended:  w.ended,
		Logger: quietLogger(),
	}
	if *outDir != "" {
		cfg.Recorder = w.open
	}
	p, err := proxy.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "ritual proxy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "ritual proxy: relaying to %s; log in with %s\n", *upstream, p.LoginURI())
	<-ctx.Done()
	fmt.Fprintln(stderr, "ritual proxy: ending every open session")
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		fmt.Fprintf(stderr, "ritual proxy: %v\n", err)
		return 1
	}
	return 0
}

// storyWriter writes each session's story where the user asked.
type storyWriter struct {
	dir    string
	format string
	show   trace.Secrets
	stdout io.Writer
	stderr io.Writer

	mu    sync.Mutex
	dirs  map[*proxy.Session]string
	sinks map[*proxy.Session]*liveSink
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// open makes the session's directory and its live events.jsonl.
func (w *storyWriter) open(s *proxy.Session) trace.Recorder {
	name := unsafeName.ReplaceAllString(s.First, "_") + "-" + unsafeName.ReplaceAllString(s.Last, "_") + "-" + s.Started.UTC().Format("20060102T150405.000Z")
	dir := filepath.Join(w.dir, name)
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !os.IsExist(err) || i > 100 {
			fmt.Fprintf(w.stderr, "ritual proxy: %v\n", err)
			return nil
		}
		dir = filepath.Join(w.dir, fmt.Sprintf("%s-%d", name, i))
	}
	f, err := os.Create(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		fmt.Fprintf(w.stderr, "ritual proxy: %v\n", err)
		return nil
	}
	ls := &liveSink{f: f, sink: trace.NewWriterSink(f, w.show)}
	w.mu.Lock()
	w.dirs[s] = dir
	if w.sinks == nil {
		w.sinks = map[*proxy.Session]*liveSink{}
	}
	w.sinks[s] = ls
	w.mu.Unlock()
	return ls
}

// liveSink writes JSON lines as they happen: flushed at most every 100 ms
// while events arrive, and at the end.
type liveSink struct {
	f    *os.File
	sink *trace.WriterSink

	mu   sync.Mutex
	last time.Time
}

func (l *liveSink) Record(ev trace.Event) {
	l.sink.Record(ev)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.last) > 100*time.Millisecond {
		l.last = now
		_ = l.sink.Flush()
	}
}

func (l *liveSink) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.sink.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ended writes the finished story: ritual.md and ritual.mmd beside the
// events, or the story on standard output.
func (w *storyWriter) ended(s *proxy.Session, events []trace.Event) {
	events = byTime(events)
	w.mu.Lock()
	defer w.mu.Unlock()
	var stall *trace.Stall
	for _, ev := range events {
		if st, ok := ev.(*trace.Stall); ok {
			stall = st
		}
	}
	who := s.First + " " + s.Last
	opt := narrative.Options{ServerName: "the upstream grid, as relayed by ritual proxy", ClientName: "the client, as relayed by ritual proxy", Show: w.show}
	if dir, ok := w.dirs[s]; ok {
		delete(w.dirs, s)
		if ls := w.sinks[s]; ls != nil {
			delete(w.sinks, s)
			if err := ls.close(); err != nil {
				fmt.Fprintf(w.stderr, "ritual proxy: %v\n", err)
			}
		}
		var md, mmd bytes.Buffer
		if err := narrative.Render(&md, events, opt); err != nil {
			fmt.Fprintf(w.stderr, "ritual proxy: %s: %v\n", who, err)
		}
		if err := seqdiagram.Render(&mmd, events, seqdiagram.Options{Show: w.show}); err != nil {
			fmt.Fprintf(w.stderr, "ritual proxy: %s: %v\n", who, err)
		}
		for name, b := range map[string][]byte{"ritual.md": md.Bytes(), "ritual.mmd": mmd.Bytes()} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				fmt.Fprintf(w.stderr, "ritual proxy: %v\n", err)
			}
		}
		fmt.Fprintf(w.stderr, "ritual proxy: session of %s ended (%s): %s\n", who, s.Reason(), dir)
	} else {
		if err := render(w.stdout, w.format, events, w.show, opt); err != nil {
			fmt.Fprintf(w.stderr, "ritual proxy: %s: %v\n", who, err)
		}
		fmt.Fprintf(w.stderr, "ritual proxy: session of %s ended (%s)\n", who, s.Reason())
	}
	if stall != nil {
		fmt.Fprintf(w.stderr, "ritual proxy: %s stalled at step %d: expected %s; last seen: %s\n", who, stall.Step, stall.Expected, stall.LastSeen)
		for _, c := range stall.Causes {
			fmt.Fprintf(w.stderr, "  - %s\n", c)
		}
	}
}
