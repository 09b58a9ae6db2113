// Package testenv finds the material tests share with the code generator:
// the protocol template and the recorded captures that live in the shared
// folder beside the checkout (../shared), and skips a test with a clear
// message where it is absent.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the module root: the nearest directory upward from the
// working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// TemplatePath returns the path of message_template.msg: $RITUAL_TEMPLATE if
// set, else ../shared/protocol/message_template.msg beside the module root.
// It returns "" when neither exists.
func TemplatePath() string {
	if p := os.Getenv("RITUAL_TEMPLATE"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	root, err := RepoRoot()
	if err != nil {
		return ""
	}
	p := filepath.Join(root, "..", "shared", "protocol", "message_template.msg")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Template returns the template's path or skips the test, saying why.
func Template(t testing.TB) string {
	t.Helper()
	p := TemplatePath()
	if p == "" {
		t.Skip("message_template.msg not found: expected at ../shared/protocol/ beside the checkout, or set RITUAL_TEMPLATE")
	}
	return p
}

// Shared returns the path of a file or folder under ../shared beside the
// module root, or skips the test when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Skipf("module root not found: %v", err)
	}
	p := filepath.Join(root, "..", "shared", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared material %s not found beside the checkout", rel)
	}
	return p
}
