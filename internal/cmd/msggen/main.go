package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"ritual/protocol/template"
)

func main() {
	tmpl := flag.String("template", "", "path of message_template.msg (default: $RITUAL_TEMPLATE, else ../shared/protocol/message_template.msg beside the module root)")
	out := flag.String("out", "zmessages.go", "file to write; the other .go files of its directory are the package it joins")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "msggen: unexpected arguments:", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*tmpl, *out); err != nil {
		fmt.Fprintln(os.Stderr, "msggen:", err)
		os.Exit(1)
	}
}

func run(tmplPath, out string) error {
	if tmplPath == "" {
		var err error
		if tmplPath, err = findTemplate(); err != nil {
			return err
		}
	}
	f, err := template.ParseFile(tmplPath)
	if err != nil {
		return err
	}
	reserved, err := declaredNames(filepath.Dir(out), filepath.Base(out))
	if err != nil {
		return err
	}
	src, err := Generate(f, reserved)
	if err != nil {
		return fmt.Errorf("%s: %w", tmplPath, err)
	}
	return writeFile(out, src)
}

// findTemplate returns $RITUAL_TEMPLATE, or the template in ../shared beside
// the module root.
func findTemplate() (string, error) {
	if p := os.Getenv("RITUAL_TEMPLATE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: pass -template or set RITUAL_TEMPLATE")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "protocol", "message_template.msg")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("template not found at %s: pass -template or set RITUAL_TEMPLATE", p)
	}
	return p, nil
}

// writeFile replaces path with data through a temporary file in the same
// directory, so an interrupted run leaves the old file intact.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".msggen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
