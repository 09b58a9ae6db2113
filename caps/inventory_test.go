package caps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// fetchReq is a FetchInventoryDescendents2 request as node-metaverse sends
// it at connect.
func fetchReq(owner ritual.UUID, folders ...ritual.UUID) map[string]any {
	var fs []any
	for _, f := range folders {
		fs = append(fs, map[string]any{
			"folder_id": f, "owner_id": owner, "fetch_folders": true, "fetch_items": true, "sort_order": 1,
		})
	}
	return map[string]any{"folders": fs}
}

func TestFetchCurrentOutfit(t *testing.T) {
	g := newTestGrid(t, nil)
	caps := g.seed(g.grant(g.alice), FetchInventoryDescendents2)
	cof := g.folderOf(g.alice.ID, store.FolderCurrentOutfit)

	// The wire form node-metaverse posts.
	body := `<?xml version="1.0" encoding="UTF-8"?><llsd><map><key>folders</key><array><map>` +
		`<key>folder_id</key><uuid>` + cof.ID.String() + `</uuid><key>owner_id</key><uuid>` + g.alice.ID.String() + `</uuid>` +
		`<key>fetch_folders</key><boolean>true</boolean><key>fetch_items</key><boolean>true</boolean>` +
		`<key>sort_order</key><integer>1</integer></map></array></map></llsd>`
	status, answer := post(t, caps[FetchInventoryDescendents2], "application/llsd+xml", body)
	if status != 200 {
		t.Fatalf("%d %s", status, answer)
	}
	m := decodeMap(t, answer)
	if m.Has("bad_folders") {
		t.Errorf("bad_folders in %s", answer)
	}
	folders := m.Array("folders")
	if len(folders) != 1 {
		t.Fatalf("folders: %v", folders)
	}
	f, _ := llsd.AsMap(folders[0])
	if f.UUID("folder_id") != cof.ID || f.UUID("owner_id") != g.alice.ID || f.UUID("agent_id") != g.alice.ID ||
		f.Int("version") != cof.Version || f.Int("descendents") != 0 {
		t.Errorf("folder entry %v (COF version %d)", f, cof.Version)
	}
	// node-metaverse reads folders[0].categories and .items: both arrays.
	if cats, ok := f.Lookup("categories"); !ok || len(cats.([]any)) != 0 {
		t.Errorf("categories %v", cats)
	}
	if items, ok := f.Lookup("items"); !ok || len(items.([]any)) != 0 {
		t.Errorf("items %v", items)
	}
	call, ok := tracetest.First[*trace.CapCall](g.rec.Events())
	if !ok || call.Capability != FetchInventoryDescendents2 || call.Status != 200 || call.Detail != "1 folders, 0 bad" {
		t.Errorf("CapCall %+v", call)
	}
}

func TestFetchRootLists(t *testing.T) {
	g := newTestGrid(t, nil)
	caps := g.seed(g.grant(g.alice), FetchInventoryDescendents2)
	ctx := context.Background()
	root, err := g.store.Inventory().Root(ctx, g.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A folder made by the user shows up, with the root's new version.
	mine := store.Folder{Owner: g.alice.ID, Parent: root.ID, Name: "Aardvarks"}
	if err := g.store.Inventory().Create(ctx, &mine); err != nil {
		t.Fatal(err)
	}
	root, _ = g.store.Inventory().Root(ctx, g.alice.ID)
	skel, _ := g.store.Inventory().Skeleton(ctx, g.alice.ID)
	var children []store.Folder
	for _, f := range skel {
		if f.Parent == root.ID {
			children = append(children, f)
		}
	}

	for _, fetchFolders := range []bool{true, false} {
		req := fetchReq(g.alice.ID, root.ID)
		req["folders"].([]any)[0].(map[string]any)["fetch_folders"] = fetchFolders
		status, answer := post(t, caps[FetchInventoryDescendents2], "", xmlDoc(t, req))
		if status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
		f, _ := llsd.AsMap(decodeMap(t, answer).Array("folders")[0])
		if f.Int("version") != root.Version || int(f.Int("descendents")) != len(children) {
			t.Errorf("fetch_folders %v: version %d descendents %d, want %d and %d", fetchFolders, f.Int("version"), f.Int("descendents"), root.Version, len(children))
		}
		cats := f.Array("categories")
		if !fetchFolders {
			if len(cats) != 0 {
				t.Errorf("fetch_folders false: %d categories", len(cats))
			}
			continue
		}
		if len(cats) != len(children) {
			t.Fatalf("%d categories, want %d", len(cats), len(children))
		}
		for i, c := range cats {
			cm, _ := llsd.AsMap(c)
			want := children[i]
			if cm.UUID("folder_id") != want.ID || cm.UUID("category_id") != want.ID || cm.UUID("parent_id") != root.ID ||
				cm.String("name") != want.Name || cm.Int("type") != int32(want.Type) || cm.Int("type_default") != int32(want.Type) ||
				cm.Int("version") != want.Version {
				t.Errorf("category %d = %v, want %+v", i, cm, want)
			}
		}
	}
}

func TestFetchBadFolders(t *testing.T) {
	g := newTestGrid(t, nil)
	caps := g.seed(g.grant(g.alice), FetchInventoryDescendents2)
	cof := g.folderOf(g.alice.ID, store.FolderCurrentOutfit)
	bobs := g.folderOf(g.bob.ID, store.FolderCurrentOutfit)
	unknown := ritual.NewUUID()

	tests := []struct {
		name      string
		req       map[string]any
		good, bad []ritual.UUID
	}{
		{"unknown", fetchReq(g.alice.ID, unknown), nil, []ritual.UUID{unknown}},
		{"another's folder", fetchReq(g.alice.ID, bobs.ID), nil, []ritual.UUID{bobs.ID}},
		{"another's folder as its owner", fetchReq(g.bob.ID, bobs.ID), nil, []ritual.UUID{bobs.ID}},
		{"own folder, wrong owner_id", fetchReq(g.bob.ID, cof.ID), nil, []ritual.UUID{cof.ID}},
		{"mixed, repeated", fetchReq(g.alice.ID, cof.ID, unknown, cof.ID), []ritual.UUID{cof.ID}, []ritual.UUID{unknown}},
		{"zero folder", fetchReq(g.alice.ID, ritual.UUID{}), []ritual.UUID{{}}, nil},
		{"no folders", map[string]any{}, nil, nil},
		{"empty folders", map[string]any{"folders": []any{}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := post(t, caps[FetchInventoryDescendents2], "", xmlDoc(t, tt.req))
			if status != 200 {
				t.Fatalf("%d %s", status, answer)
			}
			m := decodeMap(t, answer)
			var good, bad []ritual.UUID
			for _, f := range m.Array("folders") {
				fm, _ := llsd.AsMap(f)
				good = append(good, fm.UUID("folder_id"))
			}
			for _, f := range m.Array("bad_folders") {
				fm, _ := llsd.AsMap(f)
				if fm.String("error") != "Unknown" {
					t.Errorf("bad folder error %q", fm.String("error"))
				}
				bad = append(bad, fm.UUID("folder_id"))
			}
			if fmt.Sprint(good) != fmt.Sprint(tt.good) || fmt.Sprint(bad) != fmt.Sprint(tt.bad) {
				t.Errorf("folders %v bad %v, want %v and %v", good, bad, tt.good, tt.bad)
			}
			if _, ok := m.Lookup("folders"); !ok {
				t.Error("no folders key")
			}
		})
	}
}

func TestFetchBadRequests(t *testing.T) {
	g := newTestGrid(t, nil)
	caps := g.seed(g.grant(g.alice), FetchInventoryDescendents2)
	many := make([]any, MaxFetchFolders+1)
	for i := range many {
		many[i] = map[string]any{"folder_id": ritual.NewUUID()}
	}
	tests := []struct {
		name, body string
		status     int
		says       string
	}{
		{"array", "<llsd><array /></llsd>", 400, "want a map {folders"},
		{"folders map", "<llsd><map><key>folders</key><map /></map></llsd>", 400, "folders is a map, want an array"},
		{"entry string", "<llsd><map><key>folders</key><array><string>x</string></array></map></llsd>", 400, "folders[0] is a string"},
		{"no folder_id", "<llsd><map><key>folders</key><array><map /></array></map></llsd>", 400, "folders[0].folder_id is undef"},
		{"bad folder_id", "<llsd><map><key>folders</key><array><map><key>folder_id</key><integer>3</integer></map></array></map></llsd>", 400, "folder_id is an integer"},
		{"bad owner_id", "<llsd><map><key>folders</key><array><map><key>folder_id</key><uuid /><key>owner_id</key><string>nope</string></map></array></map></llsd>", 400, "owner_id is a string"},
		{"too many", xmlDoc(t, map[string]any{"folders": many}), 400, "at most 256"},
		{"empty", "", 400, "empty request body"},
	}
	for _, tt := range tests {
		status, body := post(t, caps[FetchInventoryDescendents2], "", tt.body)
		if status != tt.status || !strings.Contains(body, tt.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tt.name, status, body, tt.status, tt.says)
		}
	}
	if status, _ := do(t, "GET", caps[FetchInventoryDescendents2], "", ""); status != 405 {
		t.Errorf("GET: %d", status)
	}
}

// brokenInventory fails every read, as a store that lost its database would.
type brokenInventory struct{ store.InventoryFolders }

var errDiskGone = errors.New("disk gone")

func (brokenInventory) Get(context.Context, ritual.UUID) (store.Folder, error) {
	return store.Folder{}, errDiskGone
}

func TestFetchStoreFailure(t *testing.T) {
	g := newTestGrid(t, func(c *Config) { c.Inventory = brokenInventory{} })
	caps := g.seed(g.grant(g.alice), FetchInventoryDescendents2)
	status, body := post(t, caps[FetchInventoryDescendents2], "", xmlDoc(t, fetchReq(g.alice.ID, ritual.NewUUID())))
	if status != 500 || strings.Contains(body, "disk gone") {
		t.Errorf("%d %q: want 500 without the store's error text", status, body)
	}
}

func TestFetchLibrary(t *testing.T) {
	g := newTestGrid(t, nil)
	if caps := g.seed(g.grant(g.alice), FetchLibDescendents2); len(caps) != 0 {
		t.Errorf("FetchLibDescendents2 granted with no LibraryOwner: %v", caps)
	}

	lib := store.Account{ID: ritual.NewUUID(), First: "Library", Last: "Owner", PasswordHash: "x"}
	g = newTestGrid(t, func(c *Config) { c.LibraryOwner = lib.ID })
	ctx := context.Background()
	if err := g.store.Accounts().Create(ctx, &lib); err != nil {
		t.Fatal(err)
	}
	caps := g.seed(g.grant(g.alice), FetchLibDescendents2, FetchInventoryDescendents2)
	if len(caps) != 2 {
		t.Fatalf("granted %v", caps)
	}
	libRoot, _ := g.store.Inventory().Root(ctx, lib.ID)
	aliceRoot, _ := g.store.Inventory().Root(ctx, g.alice.ID)
	status, body := post(t, caps[FetchLibDescendents2], "", xmlDoc(t, fetchReq(lib.ID, libRoot.ID, aliceRoot.ID)))
	m := decodeMap(t, body)
	if status != 200 || len(m.Array("folders")) != 1 || len(m.Array("bad_folders")) != 1 {
		t.Fatalf("%d %s", status, body)
	}
	f, _ := llsd.AsMap(m.Array("folders")[0])
	if f.UUID("folder_id") != libRoot.ID || f.UUID("owner_id") != lib.ID || f.UUID("agent_id") != g.alice.ID || len(f.Array("categories")) == 0 {
		t.Errorf("library root entry %v", f)
	}
	// And the library is not the agent's inventory.
	status, body = post(t, caps[FetchInventoryDescendents2], "", xmlDoc(t, fetchReq(lib.ID, libRoot.ID)))
	if m := decodeMap(t, body); status != 200 || len(m.Array("bad_folders")) != 1 {
		t.Errorf("library folder through FetchInventoryDescendents2: %d %s", status, body)
	}
}
