package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ritual/login"
)

// loginEdits are the relay's replacements for a successful login reply.
type loginEdits struct {
	// Sim is the relay address written as sim_ip and sim_port.
	Sim netip.AddrPort
	// Seed is the proxy URL written as seed_capability; empty leaves it.
	Seed string
}

// errNoMember reports a login reply without a member the rewrite needs.
var errNoMember = errors.New("proxy: login reply lacks a member to rewrite")

// rewriteLoginReply returns body with sim_ip, sim_port and (when e.Seed is
// set and the reply has one) seed_capability replaced, every other byte as
// it was. The result is read back with login.ParseResponse to prove the
// client will see the new values.
func rewriteLoginReply(contentType string, body []byte, e loginEdits) ([]byte, error) {
	root, err := parseDoc(body)
	if err != nil {
		return nil, err
	}
	found := map[string]*node{}
	want := func(name string, v *node) {
		switch name {
		case "sim_ip", "sim_port", "seed_capability":
			if _, dup := found[name]; !dup {
				found[name] = v
			}
		}
	}
	switch root.name {
	case "llsd":
		if len(root.children) == 1 {
			llsdMap(root.children[0], want)
		}
	case "methodResponse":
		if st := xmlrpcStruct(root); st != nil {
			xmlrpcMembers(st, want)
		}
	default:
		return nil, fmt.Errorf("%w: document element <%s>", errDocument, root.name)
	}
	var edits []edit
	for _, m := range []struct{ name, text string }{
		{"sim_ip", e.Sim.Addr().String()},
		{"sim_port", strconv.Itoa(int(e.Sim.Port()))},
		{"seed_capability", e.Seed},
	} {
		n := found[m.name]
		if m.name == "seed_capability" && (e.Seed == "" || n == nil || strings.TrimSpace(n.text) == "") {
			continue
		}
		if n == nil {
			return nil, fmt.Errorf("%w: %s", errNoMember, m.name)
		}
		ed, ok := n.setText(m.text)
		if !ok {
			return nil, fmt.Errorf("%w: %s is an empty element", errNoMember, m.name)
		}
		edits = append(edits, ed)
	}
	out := splice(body, edits)
	r, err := login.ParseResponse(contentType, out)
	if err != nil && r == nil {
		return nil, fmt.Errorf("proxy: the rewritten login reply does not read back: %w", err)
	}
	if r.SimIP != e.Sim.Addr().String() || r.SimPort != e.Sim.Port() || e.Seed != "" && found["seed_capability"] != nil && strings.TrimSpace(found["seed_capability"].text) != "" && r.SeedCapability != e.Seed {
		return nil, fmt.Errorf("proxy: the rewritten login reply reads back as %s:%d, %q", r.SimIP, r.SimPort, r.SeedCapability)
	}
	return out, nil
}

// xmlrpcStruct returns the struct of an XML-RPC methodResponse's first
// parameter.
func xmlrpcStruct(root *node) *node {
	params := root.child("params")
	if params == nil {
		return nil
	}
	param := params.child("param")
	if param == nil {
		return nil
	}
	val := param.child("value")
	if val == nil {
		return nil
	}
	return val.child("struct")
}

// seedAnswer is a seed capability's answer: capability names and URLs in
// document order.
type seedCap struct {
	name, url string
	n         *node
}

// readSeedAnswer reads the name → URL map of an LLSD-XML seed answer.
func readSeedAnswer(body []byte) (*node, []seedCap, error) {
	root, err := parseDoc(body)
	if err != nil {
		return nil, nil, err
	}
	if root.name != "llsd" || len(root.children) != 1 || root.children[0].name != "map" {
		return nil, nil, fmt.Errorf("%w: the seed answer is not an LLSD map", errDocument)
	}
	var caps []seedCap
	llsdMap(root.children[0], func(k string, v *node) {
		if (v.name == "string" || v.name == "uri") && len(v.children) == 0 {
			caps = append(caps, seedCap{name: k, url: strings.TrimSpace(v.text), n: v})
		}
	})
	return root, caps, nil
}

// rewriteSeedAnswer replaces every absolute http(s) URL of a seed answer
// with the one relay returns for it (given the capability's name); relay
// returning "" leaves a URL as it is.
func rewriteSeedAnswer(body []byte, relay func(name, url string) string) ([]byte, []string, error) {
	_, caps, err := readSeedAnswer(body)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(caps))
	var edits []edit
	for _, c := range caps {
		names = append(names, c.name)
		if !isHTTPURL(c.url) {
			continue
		}
		u := relay(c.name, c.url)
		if u == "" {
			continue
		}
		if ed, ok := c.n.setText(u); ok {
			edits = append(edits, ed)
		}
	}
	return splice(body, edits), names, nil
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
