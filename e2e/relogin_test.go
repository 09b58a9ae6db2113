package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"ritual/circuit"
	"ritual/client"
)

// TestReloginKeepsCapabilities: logging in again while the agent is still
// in the region kicks the earlier session, and the new one keeps its
// capabilities (the earlier agent's teardown used to revoke the agent's
// grant, which by then was the new session's: its seed answered 404).
func TestReloginKeepsCapabilities(t *testing.T) {
	g := startGrid(t, nil, 0, circuit.Config{}, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cfg := clientConfig(g, &http.Client{Transport: tr}, nil)
	cfg.AgentUpdateInterval = -1
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var prev *client.Session
	for i := range 40 {
		s, err := client.Login(ctx, cfg)
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if prev != nil {
			<-prev.Done()
			prev.Close()
		}
		prev = s
	}
	// The last session's capabilities outlive the earlier agents' teardown.
	time.Sleep(200 * time.Millisecond)
	if len(prev.Capabilities()) == 0 {
		t.Fatal("no capabilities")
	}
	if _, err := prev.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}
