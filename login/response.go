package login

import (
	"math"
	"net/url"
	"strconv"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
)

// Well-known ids of the login reply. The library ids and texture ids are
// the ones OpenSimulator sends, which viewers already know.
var (
	// LibraryRoot is the inventory-lib-root folder (the library's root,
	// listed in inventory-skel-lib).
	LibraryRoot = ritual.MustParseUUID("00000112-000f-0000-0000-000100bba000")
	// LibraryOwner is the inventory-lib-owner agent.
	LibraryOwner = ritual.MustParseUUID("11111111-1111-0000-0000-000100bba000")

	sunTexture   = "cce0f112-878f-4586-a2e2-a8f104bba271"
	cloudTexture = "dc4b9f0b-d008-45c6-96a4-01dd947ac621"
	moonTexture  = "ec4b9f0b-d008-45c6-96a4-01dd947ac621"
)

// LibraryName is the name of the library's root folder.
const LibraryName = "Library"

// classifiedCategories are the classified_categories of the reply, in the
// numbering viewers use.
var classifiedCategories = []string{
	1: "Shopping", 2: "Land Rental", 3: "Property Rental", 4: "Special Attraction",
	5: "New Products", 6: "Employment", 7: "Wanted", 8: "Service", 9: "Personal",
}

// success is what a login that succeeded answers with.
type success struct {
	acct    store.Account
	folders []store.Folder
	root    ritual.UUID
	circuit Circuit
	dest    Destination
	now     time.Time
}

// record is a reply struct (XML-RPC) or map (LLSD) with its members in
// order; values are string, int32, topID, record or []any of those.
type record []field

type field struct {
	name  string
	value any
}

// topID is a UUID member of the reply's top level: a string in XML-RPC,
// an LLSD <uuid> in the LLSD form (nested ids are strings in both, as
// OpenSimulator sends them).
type topID ritual.UUID

// failureRecord is the reply to a refused login.
func failureRecord(f *Failure) record {
	return record{{"login", "false"}, {"reason", f.Reason}, {"message", f.Message}}
}

// successRecord is the reply to a login that succeeded in form f. Members
// follow the order of OpenSimulator's LLSD reply, login first; the XML-RPC
// form adds the members only OpenSimulator's XML-RPC reply has (http_port,
// event_notifications, region_size_x/y).
func (s *Server) successRecord(ok *success, f Format) record {
	c, d := &ok.circuit, &ok.dest
	first, last := ok.acct.First, ok.acct.Last
	if !s.cfg.PlainNames {
		first, last = `"`+first+`"`, `"`+last+`"`
	}
	x, y := d.Handle.Meters()
	xmlrpcOnly := f == FormatXMLRPC

	r := make(record, 0, 40)
	add := func(name string, v any) { r = append(r, field{name, v}) }
	add("login", "true")
	add("first_name", first)
	add("last_name", last)
	add("agent_access", "M")
	add("agent_access_max", "A")
	add("sim_port", int32(d.SimPort))
	add("sim_ip", d.SimIP.String())
	if xmlrpcOnly {
		add("http_port", httpPort(d.SeedCapability))
	}
	add("agent_id", topID(c.Agent))
	add("session_id", topID(c.Session))
	add("secure_session_id", topID(c.SecureSession))
	add("circuit_code", int32(c.Code))
	add("seconds_since_epoch", int32(min(max(ok.now.Unix(), 0), math.MaxInt32)))
	add("login-flags", []any{record{
		{"daylight_savings", "N"}, {"stipend_since_login", "N"}, {"gendered", "Y"}, {"ever_logged_in", "Y"},
	}})
	add("global-textures", []any{record{
		{"sun_texture_id", sunTexture}, {"cloud_texture_id", cloudTexture}, {"moon_texture_id", moonTexture},
	}})
	add("seed_capability", d.SeedCapability)
	add("event_categories", []any{})
	if xmlrpcOnly {
		add("event_notifications", []any{})
	}
	cats := make([]any, 0, len(classifiedCategories)-1)
	for id, name := range classifiedCategories {
		if name != "" {
			cats = append(cats, record{{"category_id", int32(id)}, {"category_name", name}})
		}
	}
	add("classified_categories", cats)
	add("ui-config", []any{record{{"allow_first_life", "Y"}}})
	skel := make([]any, len(ok.folders))
	for i, fo := range ok.folders {
		skel[i] = folderRecord(fo.ID, fo.Parent, fo.Name, int32(fo.Type), fo.Version)
	}
	add("inventory-skeleton", skel)
	add("inventory-skel-lib", []any{folderRecord(LibraryRoot, ritual.UUID{}, LibraryName, int32(store.FolderRoot), 1)})
	add("inventory-root", []any{record{{"folder_id", ok.root.String()}}})
	add("inventory-lib-root", []any{record{{"folder_id", LibraryRoot.String()}}})
	add("inventory-lib-owner", []any{record{{"agent_id", LibraryOwner.String()}}})
	add("gestures", []any{})
	add("start_location", startLocation(c.Start))
	add("home", llsd.Home{RegionHandle: d.Handle, Position: d.Position, LookAt: d.LookAt}.Notation())
	add("look_at", llsd.Vector3Notation(d.LookAt))
	add("max-agent-groups", int32(s.cfg.MaxAgentGroups))
	add("message", s.cfg.Message)
	add("region_x", int32(x))
	add("region_y", int32(y))
	if xmlrpcOnly {
		add("region_size_x", int32(regionSize(d.SizeX)))
		add("region_size_y", int32(regionSize(d.SizeY)))
	}
	if s.cfg.MapServerURL != "" {
		add("map-server-url", s.cfg.MapServerURL)
	}
	add("buddy-list", []any{})
	return r
}

func folderRecord(id, parent ritual.UUID, name string, typ, version int32) record {
	return record{
		{"name", name}, {"folder_id", id.String()}, {"type_default", typ},
		{"version", version}, {"parent_id", parent.String()},
	}
}

func regionSize(n uint32) uint32 {
	if n == 0 {
		return ritual.RegionSize
	}
	return n
}

// httpPort is the port of the region's HTTP service, as the seed
// capability's URL names it.
func httpPort(seed string) int32 {
	u, err := url.Parse(seed)
	if err != nil {
		return 0
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return 0
		}
		return int32(n)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// xmlrpc returns r as an XML-RPC struct.
func (r record) xmlrpc() xmlrpc.Struct {
	st := make(xmlrpc.Struct, len(r))
	for i, f := range r {
		st[i] = xmlrpc.Member{Name: f.name, Value: toXMLRPC(f.value)}
	}
	return st
}

func toXMLRPC(v any) any {
	switch v := v.(type) {
	case record:
		return v.xmlrpc()
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toXMLRPC(e)
		}
		return out
	case topID:
		return ritual.UUID(v).String()
	}
	return v
}

// llsd returns r as an LLSD map in member order.
func (r record) llsd() llsd.OrderedMap {
	m := make(llsd.OrderedMap, len(r))
	for i, f := range r {
		m[i] = llsd.KV{Key: f.name, Value: toLLSD(f.value)}
	}
	return m
}

func toLLSD(v any) any {
	switch v := v.(type) {
	case record:
		return v.llsd()
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toLLSD(e)
		}
		return out
	case topID:
		return ritual.UUID(v)
	}
	return v
}
