package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ritual/observatory"
	"ritual/trace"
)

func init() {
	register("view", "render a recorded event log (JSON lines) as a self-contained ritual.html", runView)
}

func runView(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ritual view FILE.jsonl [--out FILE.html] [--title T] [--show-secrets]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "the HTML file to write (default: FILE with .html in place of .jsonl; - for standard output)")
	title := fs.String("title", "", "the report's title (default: who logged in where, from the events)")
	show := fs.Bool("show-secrets", false, "show the session ids and capability URLs the log holds instead of masking them")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
		fs.Parse(fs.Args()[1:])
	}
	if file == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "ritual view: %v\n", err)
		return 1
	}
	events, err := trace.ReadJSONL(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "ritual view: %s: %v\n", file, err)
		return 1
	}
	var b bytes.Buffer
	if err := observatory.Report(&b, events, observatory.Options{Title: *title, Show: trace.Secrets(*show)}); err != nil {
		fmt.Fprintf(stderr, "ritual view: %s: %v\n", file, err)
		return 1
	}
	dest := *out
	if dest == "" {
		dest = strings.TrimSuffix(file, filepath.Ext(file)) + ".html"
	}
	if dest == "-" {
		if _, err := stdout.Write(b.Bytes()); err != nil {
			fmt.Fprintf(stderr, "ritual view: %v\n", err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(dest, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "ritual view: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "ritual view: wrote %s (%d events)\n", dest, len(events))
	return 0
}
