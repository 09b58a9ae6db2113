package login

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
)

// interpret reads the members of a login reply leniently, as clients do:
// numbers may come as numeric strings, ids as strings or LLSD uuids.
func interpret(format Format, m map[string]any) (*Response, error) {
	lv, ok := m["login"]
	if !ok {
		return nil, fmt.Errorf("%w: no login member", ErrBadResponse)
	}
	verdict, _ := asString(lv)
	if b, isBool := lv.(bool); isBool {
		verdict = strconv.FormatBool(b)
	}
	switch strings.ToLower(strings.TrimSpace(verdict)) {
	case "true":
	case "false":
		reason, _ := asString(m["reason"])
		msg, _ := asString(m["message"])
		return nil, &Failure{Reason: reason, Message: msg}
	case "indeterminate":
		next, _ := asString(m["next_url"])
		return nil, fmt.Errorf("%w to %q", ErrRedirect, next)
	default:
		return nil, fmt.Errorf("%w: login member is %q", ErrBadResponse, verdict)
	}

	r := &Response{OK: true, Format: format, Members: m}
	var missing []string
	need := func(name string, ok bool) {
		if !ok {
			missing = append(missing, name)
		}
	}
	r.Reason, _ = asString(m["reason"])
	r.Message, _ = asString(m["message"])
	var got bool
	r.Agent, got = asUUID(m["agent_id"])
	need("agent_id", got && !r.Agent.IsZero())
	r.Session, got = asUUID(m["session_id"])
	need("session_id", got && !r.Session.IsZero())
	r.SecureSession, _ = asUUID(m["secure_session_id"])
	code, got := asInt(m["circuit_code"])
	switch {
	case got && code < 0 && code >= math.MinInt32:
		r.CircuitCode = uint32(int32(code)) // a U32 sent as a signed i4
	case got && code > 0 && code <= math.MaxUint32:
		r.CircuitCode = uint32(code)
	}
	need("circuit_code", r.CircuitCode != 0)
	r.SimIP, _ = asString(m["sim_ip"])
	need("sim_ip", r.SimIP != "")
	port, got := asInt(m["sim_port"])
	if got && port > 0 && port <= math.MaxUint16 {
		r.SimPort = uint16(port)
	}
	need("sim_port", r.SimPort != 0)
	for _, c := range []struct {
		name string
		dst  *uint32
	}{{"region_x", &r.RegionX}, {"region_y", &r.RegionY}} {
		v, got := asInt(m[c.name])
		got = got && v >= 0 && v <= math.MaxUint32
		if got {
			*c.dst = uint32(v)
		}
		need(c.name, got)
	}
	// A blank seed capability is the grid's fault but not a malformed
	// reply: viewers go on without capabilities, and so does the client,
	// which names it as the cause of what is then missing.
	r.SeedCapability, _ = asString(m["seed_capability"])
	if v, ok := m["look_at"]; ok {
		r.LookAt, _ = llsd.AsVector3(v)
	}
	first, _ := asString(m["first_name"])
	last, _ := asString(m["last_name"])
	r.FirstName, r.LastName = strings.Trim(first, `"`), strings.Trim(last, `"`)
	if roots, ok := asArray(m["inventory-root"]); ok && len(roots) > 0 {
		r.InventoryRoot, _ = asUUID(member(roots[0], "folder_id"))
	}
	if skel, ok := asArray(m["inventory-skeleton"]); ok {
		r.InventorySkeleton = make([]Folder, 0, len(skel))
		for _, e := range skel {
			if f, ok := asFolder(e); ok {
				r.InventorySkeleton = append(r.InventorySkeleton, f)
			}
		}
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("%w: login succeeded but the reply lacks %s", ErrBadResponse, strings.Join(missing, ", "))
	}
	return r, nil
}

// asFolder reads one inventory-skeleton entry; entries without a folder id
// are skipped.
func asFolder(e any) (Folder, bool) {
	var f Folder
	var ok bool
	if f.ID, ok = asUUID(member(e, "folder_id")); !ok || f.ID.IsZero() {
		return Folder{}, false
	}
	f.Parent, _ = asUUID(member(e, "parent_id"))
	f.Name, _ = asString(member(e, "name"))
	f.Type = store.FolderNone
	if t, ok := asInt(member(e, "type_default")); ok && t >= math.MinInt8 && t <= math.MaxInt8 {
		f.Type = store.FolderType(t)
	}
	if v, ok := asInt(member(e, "version")); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
		f.Version = int32(v)
	}
	return f, true
}

// member returns the member name of a struct or map of either form (nil
// when absent or when v is neither).
func member(v any, name string) any {
	switch r := v.(type) {
	case xmlrpc.Struct:
		x, _ := r.Get(name)
		return x
	case map[string]any:
		return r[name]
	case llsd.Map:
		return r[name]
	case llsd.OrderedMap:
		x, _ := r.Get(name)
		return x
	}
	return nil
}

func asArray(v any) ([]any, bool) {
	a, ok := v.([]any)
	return a, ok
}

// asString reads text: a string, an LLSD uri, uuid, number or boolean, an
// XML-RPC i8.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return llsd.AsString(v)
}

// asInt reads an integer: an int32 or int64, a whole real, or a numeric
// string.
func asInt(v any) (int64, bool) {
	if n, ok := xmlrpc.AsInt(v); ok {
		return n, true
	}
	if f, ok := llsd.AsReal(v); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f), true
	}
	return 0, false
}

// asUUID reads an id: an LLSD uuid or a string holding one.
func asUUID(v any) (ritual.UUID, bool) {
	if v == nil {
		return ritual.UUID{}, false
	}
	return llsd.AsUUID(v)
}
