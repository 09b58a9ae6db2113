package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/store"
)

// Opener opens the storage named by dir, an empty directory made for one
// subtest. Called again with the same dir after the store is closed, it
// must reach the same data: that is how the suite tests persistence. A
// backend without files (a database server) derives the name of its
// database or schema from dir. The suite closes every store it opens.
type Opener func(t *testing.T, dir string) store.Store

// Run runs the suite as subtests of t.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		f    func(t *testing.T, h *harness)
	}{
		{"Accounts", testAccounts},
		{"AccountBatch", testAccountBatch},
		{"AccountErrors", testAccountErrors},
		{"Inventory", testInventory},
		{"InventoryErrors", testInventoryErrors},
		{"Regions", testRegions},
		{"RegionErrors", testRegionErrors},
		{"Terrain", testTerrain},
		{"Objects", testObjects},
		{"ObjectErrors", testObjectErrors},
		{"CascadeDeletes", testCascades},
		{"Persistence", testPersistence},
		{"Close", testClose},
		{"Concurrency", testConcurrency},
		{"Context", testContext},
		{"Hosts", testHosts},
		{"Circuits", testCircuits},
		{"Notify", testNotify},
		{"Locations", testLocations},
		{"OfflineMessages", testOfflineMessages},
		{"Presence", testPresence},
		{"Secret", testSecret},
		{"Homes", testHomes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{t: t, open: open, dir: t.TempDir()}
			h.s = open(t, h.dir)
			t.Cleanup(func() { h.s.Close() })
			tt.f(t, h)
		})
	}
}

type harness struct {
	t    *testing.T
	open Opener
	dir  string
	s    store.Store
}

// reopen closes the store and opens the same storage again.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.open(h.t, h.dir)
}

var ctx = context.Background()

// hash is a stand-in stored password string: the store never reads it.
func hash(s string) string { return "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + s }

func mustAccount(t *testing.T, s store.Store, first, last string) store.Account {
	t.Helper()
	a := &store.Account{First: first, Last: last, PasswordHash: hash(first + last)}
	if err := s.Accounts().Create(ctx, a); err != nil {
		t.Fatalf("create %s %s: %v", first, last, err)
	}
	return *a
}

func mustRegion(t *testing.T, s store.Store, name string, gx, gy uint32) store.Region {
	t.Helper()
	r := &store.Region{Name: name, GridX: gx, GridY: gy}
	if err := s.Regions().Create(ctx, r); err != nil {
		t.Fatalf("create region %s: %v", name, err)
	}
	return *r
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func testAccounts(t *testing.T, h *harness) {
	s := h.s
	before := store.Timestamp(time.Now())
	a := &store.Account{First: "Test", Last: "User", PasswordHash: hash("one")}
	if err := s.Accounts().Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.ID.IsZero() {
		t.Fatal("Create left the ID zero")
	}
	if a.Created.Before(before) || a.Created.After(time.Now()) || a.Created.Location() != time.UTC || a.Created.Nanosecond()%1000 != 0 {
		t.Errorf("Created = %v (want now, UTC, whole microseconds)", a.Created)
	}
	got, err := s.Accounts().Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *a) {
		t.Errorf("Get = %+v, want %+v", got, *a)
	}
	for _, n := range [][2]string{{"Test", "User"}, {"test", "user"}, {"TEST", "uSeR"}} {
		got, err := s.Accounts().ByName(ctx, n[0], n[1])
		if err != nil {
			t.Fatalf("ByName(%q, %q): %v", n[0], n[1], err)
		}
		if got.First != "Test" || got.Last != "User" || got.ID != a.ID {
			t.Errorf("ByName(%q, %q) = %+v", n[0], n[1], got)
		}
	}

	// Caller-chosen ID and time are kept (time to the microsecond, in UTC).
	chosen := ritual.MustParseUUID("11111111-2222-4333-8444-555555555555")
	when := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3600))
	b := &store.Account{ID: chosen, First: "alpha", Last: "Zed", PasswordHash: hash("two"), Created: when}
	if err := s.Accounts().Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	if b.ID != chosen || !b.Created.Equal(when.Truncate(time.Microsecond)) || b.Created.Location() != time.UTC {
		t.Errorf("chosen account became %+v", b)
	}
	got, err = s.Accounts().Get(ctx, chosen)
	if err != nil || !reflect.DeepEqual(got, *b) {
		t.Errorf("Get(chosen) = %+v, %v; want %+v", got, err, *b)
	}

	c := mustAccount(t, s, "beta", "Able")
	list, err := s.Accounts().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name())
	}
	if want := []string{"alpha Zed", "beta Able", "Test User"}; !slices.Equal(names, want) {
		t.Errorf("List order = %q, want %q (case-insensitive by first, last)", names, want)
	}

	// SetPassword.
	if err := s.Accounts().SetPassword(ctx, c.ID, hash("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Accounts().Get(ctx, c.ID); got.PasswordHash != hash("new") {
		t.Errorf("after SetPassword: %q", got.PasswordHash)
	}

	// A real password record survives storage unchanged and verifies.
	rec, err := account.Hash("secret", account.Params{Memory: 64, Time: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Accounts().SetPassword(ctx, c.ID, rec); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Accounts().Get(ctx, c.ID)
	if ok, err := account.Verify(got.PasswordHash, account.ViewerForm("secret")); !ok || err != nil {
		t.Errorf("stored record does not verify: %v %v", ok, err)
	}

	// Delete.
	if err := s.Accounts().Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Accounts().Get(ctx, c.ID)
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	_, err = s.Accounts().ByName(ctx, "beta", "Able")
	wantErr(t, "ByName after Delete", err, store.ErrNotFound)
	// The name is free again.
	mustAccount(t, s, "Beta", "able")
}

func testAccountBatch(t *testing.T, h *harness) {
	s := h.s
	mustAccount(t, s, "Load3", "Bot")
	batch := make([]*store.Account, 5)
	for i := range batch {
		batch[i] = &store.Account{First: fmt.Sprintf("Load%d", i+1), Last: "Bot", PasswordHash: hash("b")}
	}
	// Load3 exists: nothing is created and the pointers are left as given.
	err := s.Accounts().Create(ctx, batch...)
	wantErr(t, "batch with an existing name", err, store.ErrExists)
	if err != nil && !strings.Contains(err.Error(), "Load3") {
		t.Errorf("error %q does not name the account", err)
	}
	for _, a := range batch {
		if !a.ID.IsZero() || !a.Created.IsZero() {
			t.Errorf("failed batch left %+v modified", a)
		}
	}
	if _, err := s.Accounts().ByName(ctx, "Load1", "Bot"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed batch created Load1: %v", err)
	}
	// Repeated within the call (case-insensitively).
	dup := []*store.Account{
		{First: "Twin", Last: "One", PasswordHash: hash("x")},
		{First: "twin", Last: "ONE", PasswordHash: hash("y")},
	}
	wantErr(t, "duplicate inside batch", s.Accounts().Create(ctx, dup...), store.ErrExists)
	if _, err := s.Accounts().ByName(ctx, "Twin", "One"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed batch created Twin One: %v", err)
	}

	batch = append(batch[:2], batch[3:]...)
	if err := s.Accounts().Create(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	ids := map[ritual.UUID]bool{}
	for _, a := range batch {
		if a.ID.IsZero() || ids[a.ID] {
			t.Errorf("batch account %s has id %s", a.Name(), a.ID)
		}
		ids[a.ID] = true
		if _, err := s.Inventory().Root(ctx, a.ID); err != nil {
			t.Errorf("batch account %s has no inventory: %v", a.Name(), err)
		}
	}
	list, err := s.Accounts().List(ctx)
	if err != nil || len(list) != 5 {
		t.Errorf("List after batch: %d accounts, %v", len(list), err)
	}
	// An empty call does nothing.
	if err := s.Accounts().Create(ctx); err != nil {
		t.Errorf("Create(): %v", err)
	}
}

func testAccountErrors(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	unknown := ritual.NewUUID()

	wantErr(t, "same name", s.Accounts().Create(ctx, &store.Account{First: "test", Last: "USER", PasswordHash: hash("x")}), store.ErrExists)
	wantErr(t, "same id", s.Accounts().Create(ctx, &store.Account{ID: a.ID, First: "Other", Last: "User", PasswordHash: hash("x")}), store.ErrExists)
	for _, bad := range []store.Account{
		{First: "", Last: "User", PasswordHash: hash("x")},
		{First: "Two Words", Last: "User", PasswordHash: hash("x")},
		{First: "Test", Last: "Us\ner", PasswordHash: hash("x")},
		{First: strings.Repeat("a", account.MaxNameLen+1), Last: "User", PasswordHash: hash("x")},
		{First: "Test", Last: "Nopass"},
	} {
		err := s.Accounts().Create(ctx, &bad)
		wantErr(t, fmt.Sprintf("Create(%q %q)", bad.First, bad.Last), err, store.ErrInvalid)
	}
	err := s.Accounts().Create(ctx, &store.Account{First: "Bad Name", Last: "X", PasswordHash: "h"})
	wantErr(t, "bad name", err, account.ErrBadName)
	wantErr(t, "nil account", s.Accounts().Create(ctx, nil), store.ErrInvalid)

	_, err = s.Accounts().Get(ctx, unknown)
	wantErr(t, "Get unknown", err, store.ErrNotFound)
	_, err = s.Accounts().ByName(ctx, "No", "Body")
	wantErr(t, "ByName unknown", err, store.ErrNotFound)
	_, err = s.Accounts().ByName(ctx, "Test", "")
	wantErr(t, "ByName half name", err, store.ErrNotFound)
	wantErr(t, "Delete unknown", s.Accounts().Delete(ctx, unknown), store.ErrNotFound)
	wantErr(t, "SetPassword unknown", s.Accounts().SetPassword(ctx, unknown, hash("x")), store.ErrNotFound)
	wantErr(t, "SetPassword empty", s.Accounts().SetPassword(ctx, a.ID, ""), store.ErrInvalid)
	if got, _ := s.Accounts().Get(ctx, a.ID); got.PasswordHash != a.PasswordHash {
		t.Errorf("failed SetPassword changed the password to %q", got.PasswordHash)
	}
	list, err := s.Accounts().List(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("after failures List = %d accounts, %v", len(list), err)
	}
}

func testInventory(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	sk, err := s.Inventory().Skeleton(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.DefaultSkeleton(a.ID)
	if len(sk) != len(want) {
		t.Fatalf("skeleton has %d folders, want %d", len(sk), len(want))
	}
	root := sk[0]
	if root.Type != store.FolderRoot || root.Name != "My Inventory" || !root.Parent.IsZero() || root.Owner != a.ID || root.Version != 1 {
		t.Errorf("first skeleton folder %+v is not the root", root)
	}
	types := map[store.FolderType]string{}
	ids := map[ritual.UUID]bool{root.ID: true}
	for i, f := range sk[1:] {
		if f.Parent != root.ID || f.Owner != a.ID || f.Version != 1 || f.ID.IsZero() || ids[f.ID] {
			t.Errorf("skeleton folder %+v", f)
		}
		ids[f.ID] = true
		types[f.Type] = f.Name
		if i > 0 && sk[i].Name > f.Name {
			t.Errorf("skeleton not ordered by name: %q before %q", sk[i].Name, f.Name)
		}
	}
	for _, w := range want[1:] {
		if types[w.Type] != w.Name {
			t.Errorf("skeleton lacks %q of type %d", w.Name, w.Type)
		}
	}
	if types[store.FolderCurrentOutfit] != "Current Outfit" {
		t.Error("skeleton lacks Current Outfit (type 46)")
	}

	gotRoot, err := s.Inventory().Root(ctx, a.ID)
	if err != nil || gotRoot != root {
		t.Errorf("Root = %+v, %v; want %+v", gotRoot, err, root)
	}
	objs := folderOfType(t, sk, store.FolderObject)
	got, err := s.Inventory().Get(ctx, objs.ID)
	if err != nil || got != objs {
		t.Errorf("Get = %+v, %v; want %+v", got, err, objs)
	}

	// Create bumps the parent's version.
	sub := &store.Folder{Owner: a.ID, Parent: objs.ID, Name: "Furniture", Type: store.FolderNone, Version: 99}
	if err := s.Inventory().Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if sub.ID.IsZero() || sub.Version != 1 {
		t.Errorf("created folder %+v (want an ID and version 1)", sub)
	}
	if got, _ := s.Inventory().Get(ctx, sub.ID); got != *sub {
		t.Errorf("Get(new) = %+v, want %+v", got, *sub)
	}
	if got, _ := s.Inventory().Get(ctx, objs.ID); got.Version != 2 {
		t.Errorf("parent version after Create = %d, want 2", got.Version)
	}
	chosen := ritual.NewUUID()
	subsub := &store.Folder{ID: chosen, Owner: a.ID, Parent: sub.ID, Name: "Chairs ☺", Type: store.FolderNone}
	if err := s.Inventory().Create(ctx, subsub); err != nil {
		t.Fatal(err)
	}
	if subsub.ID != chosen {
		t.Errorf("chosen folder ID replaced by %s", subsub.ID)
	}
	sk2, _ := s.Inventory().Skeleton(ctx, a.ID)
	if len(sk2) != len(sk)+2 || sk2[0].ID != root.ID {
		t.Errorf("skeleton after two creates: %d folders, first %+v", len(sk2), sk2[0])
	}

	// BumpVersion.
	v, err := s.Inventory().BumpVersion(ctx, subsub.ID)
	if err != nil || v != 2 {
		t.Errorf("BumpVersion = %d, %v; want 2", v, err)
	}
	v, _ = s.Inventory().BumpVersion(ctx, subsub.ID)
	if got, _ := s.Inventory().Get(ctx, subsub.ID); v != 3 || got.Version != 3 {
		t.Errorf("after two bumps: returned %d, stored %d", v, got.Version)
	}

	// Delete takes the subtree and bumps the parent.
	if err := s.Inventory().Delete(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []ritual.UUID{sub.ID, subsub.ID} {
		_, err := s.Inventory().Get(ctx, id)
		wantErr(t, "Get deleted folder", err, store.ErrNotFound)
	}
	if got, _ := s.Inventory().Get(ctx, objs.ID); got.Version != 3 {
		t.Errorf("parent version after Delete = %d, want 3", got.Version)
	}
	sk3, _ := s.Inventory().Skeleton(ctx, a.ID)
	if len(sk3) != len(sk) {
		t.Errorf("skeleton after delete has %d folders, want %d", len(sk3), len(sk))
	}

	// Two accounts' inventories are separate.
	b := mustAccount(t, s, "Other", "User")
	rootB, err := s.Inventory().Root(ctx, b.ID)
	if err != nil || rootB.ID == root.ID || rootB.Owner != b.ID {
		t.Errorf("second account root %+v, %v", rootB, err)
	}
}

func folderOfType(t *testing.T, fs []store.Folder, typ store.FolderType) store.Folder {
	t.Helper()
	for _, f := range fs {
		if f.Type == typ {
			return f
		}
	}
	t.Fatalf("no folder of type %d", typ)
	return store.Folder{}
}

func testInventoryErrors(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	b := mustAccount(t, s, "Other", "User")
	rootA, _ := s.Inventory().Root(ctx, a.ID)
	rootB, _ := s.Inventory().Root(ctx, b.ID)
	unknown := ritual.NewUUID()

	_, err := s.Inventory().Skeleton(ctx, unknown)
	wantErr(t, "Skeleton of unknown account", err, store.ErrNotFound)
	_, err = s.Inventory().Root(ctx, unknown)
	wantErr(t, "Root of unknown account", err, store.ErrNotFound)
	_, err = s.Inventory().Get(ctx, unknown)
	wantErr(t, "Get unknown folder", err, store.ErrNotFound)
	_, err = s.Inventory().BumpVersion(ctx, unknown)
	wantErr(t, "BumpVersion unknown", err, store.ErrNotFound)
	wantErr(t, "Delete unknown", s.Inventory().Delete(ctx, unknown), store.ErrNotFound)
	wantErr(t, "Delete root", s.Inventory().Delete(ctx, rootA.ID), store.ErrInvalid)
	if _, err := s.Inventory().Root(ctx, a.ID); err != nil {
		t.Errorf("root gone after refused delete: %v", err)
	}

	cases := []struct {
		name string
		f    store.Folder
		want error
	}{
		{"unknown parent", store.Folder{Owner: a.ID, Parent: unknown, Name: "x"}, store.ErrNotFound},
		{"parent of another account", store.Folder{Owner: a.ID, Parent: rootB.ID, Name: "x"}, store.ErrNotFound},
		{"no parent", store.Folder{Owner: a.ID, Name: "x"}, store.ErrInvalid},
		{"no owner", store.Folder{Parent: rootA.ID, Name: "x"}, store.ErrInvalid},
		{"empty name", store.Folder{Owner: a.ID, Parent: rootA.ID}, store.ErrInvalid},
		{"long name", store.Folder{Owner: a.ID, Parent: rootA.ID, Name: strings.Repeat("n", store.MaxFolderName+1)}, store.ErrInvalid},
		{"control character", store.Folder{Owner: a.ID, Parent: rootA.ID, Name: "a\x01b"}, store.ErrInvalid},
		{"bad UTF-8", store.Folder{Owner: a.ID, Parent: rootA.ID, Name: "a\xffb"}, store.ErrInvalid},
		{"id in use", store.Folder{ID: rootB.ID, Owner: a.ID, Parent: rootA.ID, Name: "x"}, store.ErrExists},
	}
	for _, c := range cases {
		f := c.f
		err := s.Inventory().Create(ctx, &f)
		wantErr(t, "Create folder with "+c.name, err, c.want)
	}
	wantErr(t, "Create nil folder", s.Inventory().Create(ctx, nil), store.ErrInvalid)
	if got, _ := s.Inventory().Root(ctx, a.ID); got.Version != 1 {
		t.Errorf("failed creates bumped the root to version %d", got.Version)
	}
	sk, _ := s.Inventory().Skeleton(ctx, a.ID)
	if len(sk) != len(store.DefaultSkeleton(a.ID)) {
		t.Errorf("failed creates changed the skeleton to %d folders", len(sk))
	}
}

func testRegions(t *testing.T, h *harness) {
	s := h.s
	r := &store.Region{Name: "Ritual Plaza", GridX: 1000, GridY: 1000}
	if err := s.Regions().Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID.IsZero() || r.SizeX != 256 || r.SizeY != 256 || r.Created.IsZero() {
		t.Errorf("created %+v (want an ID, 256×256 and a time)", r)
	}
	if r.Handle() != ritual.HandleFromGrid(1000, 1000) {
		t.Errorf("Handle = %v", r.Handle())
	}
	got, err := s.Regions().Get(ctx, r.ID)
	if err != nil || !reflect.DeepEqual(got, *r) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, *r)
	}
	got, err = s.Regions().ByName(ctx, "ritual PLAZA")
	if err != nil || got.ID != r.ID || got.Name != "Ritual Plaza" {
		t.Errorf("ByName = %+v, %v", got, err)
	}

	// A var region, and neighbours that touch without overlapping.
	big := &store.Region{Name: "big", GridX: 1001, GridY: 1000, SizeX: 512, SizeY: 768}
	if err := s.Regions().Create(ctx, big); err != nil {
		t.Fatal(err)
	}
	east := mustRegion(t, s, "East", 1003, 1000)
	north := mustRegion(t, s, "North", 1001, 1003)
	list, err := s.Regions().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if want := []string{"big", "East", "North", "Ritual Plaza"}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q (by name, ignoring case)", names, want)
	}

	// Update: rename and move, keeping Created.
	upd := east
	upd.Name = "Far East"
	upd.GridX, upd.GridY = 2000, 2000
	upd.Created = time.Time{}
	if err := s.Regions().Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Regions().Get(ctx, east.ID)
	if got.Name != "Far East" || got.GridX != 2000 || got.GridY != 2000 || !got.Created.Equal(east.Created) || got.SizeX != 256 {
		t.Errorf("after Update: %+v", got)
	}
	if _, err := s.Regions().ByName(ctx, "East"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old name still found: %v", err)
	}
	// Updating a region in place (same name, same area) is no conflict
	// with itself; growing it into a neighbour is.
	grow := got
	grow.SizeX = 512
	if err := s.Regions().Update(ctx, grow); err != nil {
		t.Errorf("growing into free space: %v", err)
	}
	n2 := north
	n2.SizeY = 512
	n2.GridX, n2.GridY = 1000, 999
	wantErr(t, "Update into an overlap", s.Regions().Update(ctx, n2), store.ErrExists)

	// Delete.
	if err := s.Regions().Delete(ctx, big.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Regions().Get(ctx, big.ID)
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	// Its area is free again.
	mustRegion(t, s, "Reborn", 1002, 1002)
}

func testRegionErrors(t *testing.T, h *harness) {
	s := h.s
	r := mustRegion(t, s, "Home", 1000, 1000)
	mustRegion(t, s, "Wide", 1010, 1000)
	unknown := ritual.NewUUID()
	cases := []struct {
		name string
		r    store.Region
		want error
	}{
		{"same name", store.Region{Name: "HOME", GridX: 5, GridY: 5}, store.ErrExists},
		{"same id", store.Region{ID: r.ID, Name: "Elsewhere", GridX: 5, GridY: 5}, store.ErrExists},
		{"same place", store.Region{Name: "Squatter", GridX: 1000, GridY: 1000}, store.ErrExists},
		{"overlap from south-west", store.Region{Name: "Big", GridX: 999, GridY: 999, SizeX: 512, SizeY: 512}, store.ErrExists},
		{"overlap inside a var region", store.Region{Name: "Big2", GridX: 1008, GridY: 998, SizeX: 1024, SizeY: 1024}, store.ErrExists},
		{"empty name", store.Region{GridX: 5, GridY: 5}, store.ErrInvalid},
		{"long name", store.Region{Name: strings.Repeat("r", store.MaxRegionName+1), GridX: 5, GridY: 5}, store.ErrInvalid},
		{"padded name", store.Region{Name: " Home2", GridX: 5, GridY: 5}, store.ErrInvalid},
		{"newline", store.Region{Name: "a\nb", GridX: 5, GridY: 5}, store.ErrInvalid},
		{"size not a multiple of 256", store.Region{Name: "Odd", GridX: 5, GridY: 5, SizeX: 300}, store.ErrInvalid},
		{"size too big", store.Region{Name: "Huge", GridX: 5, GridY: 5, SizeY: store.MaxRegionSize + 256}, store.ErrInvalid},
		{"off the grid", store.Region{Name: "Far", GridX: store.MaxGrid + 1, GridY: 5}, store.ErrInvalid},
	}
	for _, c := range cases {
		x := c.r
		wantErr(t, "Create region with "+c.name, s.Regions().Create(ctx, &x), c.want)
	}
	wantErr(t, "Create nil region", s.Regions().Create(ctx, nil), store.ErrInvalid)
	list, _ := s.Regions().List(ctx)
	if len(list) != 2 {
		t.Errorf("failed creates left %d regions", len(list))
	}
	_, err := s.Regions().Get(ctx, unknown)
	wantErr(t, "Get unknown", err, store.ErrNotFound)
	_, err = s.Regions().ByName(ctx, "Nowhere")
	wantErr(t, "ByName unknown", err, store.ErrNotFound)
	wantErr(t, "Delete unknown", s.Regions().Delete(ctx, unknown), store.ErrNotFound)
	wantErr(t, "Update unknown", s.Regions().Update(ctx, store.Region{ID: unknown, Name: "Ghost", GridX: 7, GridY: 7}), store.ErrNotFound)
	taken := r
	taken.Name = "wide"
	wantErr(t, "Update to a taken name", s.Regions().Update(ctx, taken), store.ErrExists)
	bad := r
	bad.SizeX = 100
	wantErr(t, "Update to a bad size", s.Regions().Update(ctx, bad), store.ErrInvalid)
	if got, _ := s.Regions().Get(ctx, r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("failed updates changed the region to %+v", got)
	}
}

// heightmap returns a w×h map whose heights are distinct and exercise
// fractions, negatives and extremes.
func heightmap(w, h int, seed float32) store.Heightmap {
	hm := store.Heightmap{W: w, H: h, Heights: make([]float32, w*h)}
	for i := range hm.Heights {
		hm.Heights[i] = seed + float32(i)*0.001 - 20
	}
	hm.Heights[0] = math.MaxFloat32
	hm.Heights[len(hm.Heights)-1] = -math.SmallestNonzeroFloat32
	return hm
}

func testTerrain(t *testing.T, h *harness) {
	s := h.s
	r := mustRegion(t, s, "Home", 1000, 1000)
	unknown := ritual.NewUUID()
	_, err := s.Terrain().Load(ctx, r.ID)
	wantErr(t, "Load before Save", err, store.ErrNotFound)
	_, err = s.Terrain().Load(ctx, unknown)
	wantErr(t, "Load of unknown region", err, store.ErrNotFound)

	hm := heightmap(256, 256, 21.5)
	if err := s.Terrain().Save(ctx, r.ID, hm); err != nil {
		t.Fatal(err)
	}
	got, err := s.Terrain().Load(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, hm) {
		t.Errorf("Load differs from Save (%d×%d, %d heights)", got.W, got.H, len(got.Heights))
	}
	// Save replaces, also with other dimensions.
	hm2 := heightmap(3, 2, 7)
	if err := s.Terrain().Save(ctx, r.ID, hm2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Terrain().Load(ctx, r.ID); !reflect.DeepEqual(got, hm2) {
		t.Errorf("Load after replace = %+v, want %+v", got, hm2)
	}

	wantErr(t, "Save to unknown region", s.Terrain().Save(ctx, unknown, hm2), store.ErrNotFound)
	nan := heightmap(2, 2, 0)
	nan.Heights[3] = float32(math.NaN())
	inf := heightmap(2, 2, 0)
	inf.Heights[1] = float32(math.Inf(-1))
	for _, c := range []struct {
		name string
		hm   store.Heightmap
	}{
		{"short", store.Heightmap{W: 2, H: 2, Heights: make([]float32, 3)}},
		{"long", store.Heightmap{W: 2, H: 2, Heights: make([]float32, 5)}},
		{"zero width", store.Heightmap{W: 0, H: 2}},
		{"negative", store.Heightmap{W: -2, H: -2, Heights: make([]float32, 4)}},
		{"too wide", store.Heightmap{W: store.MaxTerrainSide + 1, H: 1, Heights: make([]float32, store.MaxTerrainSide+1)}},
		{"NaN", nan},
		{"infinity", inf},
	} {
		wantErr(t, "Save "+c.name+" heightmap", s.Terrain().Save(ctx, r.ID, c.hm), store.ErrInvalid)
	}
	if got, _ := s.Terrain().Load(ctx, r.ID); !reflect.DeepEqual(got, hm2) {
		t.Errorf("failed saves changed the terrain to %+v", got)
	}
}

// object returns a prim whose every field is set to something distinct,
// including the extremes of the integer types.
func object(localID uint32, seed byte) store.Object {
	return store.Object{
		ID:          ritual.NewUUID(),
		LocalID:     localID,
		Parent:      ritual.NewUUID(),
		PCode:       9,
		Material:    3,
		ClickAction: 1,
		State:       255,
		Scale:       ritual.Vector3{X: 0.5, Y: 1.25, Z: 10},
		Position:    ritual.Vector3{X: 128.125, Y: 3.0e-3, Z: float32(seed) + 0.1},
		Rotation:    ritual.Quaternion{X: 0, Y: 0, Z: 0.70710677, W: -0.70710677},
		Shape: store.Shape{
			PathCurve: 0x10, ProfileCurve: 0x21, PathBegin: 1, PathEnd: 65535,
			PathScaleX: 100, PathScaleY: 200, PathShearX: 255, PathShearY: 1,
			PathTwist: -128, PathTwistBegin: 127, PathRadiusOffset: -1, PathTaperX: 50, PathTaperY: -50,
			PathRevolutions: 66, PathSkew: -100, ProfileBegin: 2, ProfileEnd: 49999, ProfileHollow: 47500,
		},
		TextureEntry: bytes.Repeat([]byte{seed, 0, 0xff}, 30),
		ExtraParams:  []byte{1, 0x10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, seed},
		Name:         fmt.Sprintf("Box %d", seed),
		Description:  "a box ☺",
		Text:         "line one\nline two",
		TextColor:    [4]byte{255, 128, 0, seed},
		Owner:        ritual.NewUUID(),
		Creator:      ritual.NewUUID(),
		Flags:        0xffffffff,
	}
}

func testObjects(t *testing.T, h *harness) {
	s := h.s
	r := mustRegion(t, s, "Home", 1000, 1000)
	r2 := mustRegion(t, s, "Away", 1001, 1000)
	if objs, err := s.Objects().Load(ctx, r.ID); err != nil || len(objs) != 0 {
		t.Errorf("Load of an empty region = %d objects, %v", len(objs), err)
	}
	a, b, c := object(30, 1), object(10, 2), object(math.MaxUint32, 3)
	c.Parent = ritual.UUID{}
	c.TextureEntry, c.ExtraParams = nil, nil
	c.Name, c.Description, c.Text = "", "", ""
	if err := s.Objects().Save(ctx, r.ID, a, b, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Objects().Load(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Object{b, a, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant (by local id)\n%+v", got, want)
	}

	// Save again replaces by ID.
	a.Position.X = 200.5
	a.LocalID = 31
	a.Name = "renamed"
	a.TextureEntry = []byte{9}
	if err := s.Objects().Save(ctx, r.ID, a); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Objects().Load(ctx, r.ID)
	if len(got) != 3 || !reflect.DeepEqual(got[1], a) {
		t.Errorf("after replace: %d objects, [1] = %+v", len(got), got[1])
	}
	// The old local id is free again.
	d := object(30, 4)
	if err := s.Objects().Save(ctx, r.ID, d); err != nil {
		t.Errorf("reusing a freed local id: %v", err)
	}

	// Saving into another region moves the object.
	if err := s.Objects().Save(ctx, r2.ID, b); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Objects().Load(ctx, r.ID)
	for _, o := range got {
		if o.ID == b.ID {
			t.Error("moved object still in its first region")
		}
	}
	got, _ = s.Objects().Load(ctx, r2.ID)
	if len(got) != 1 || !reflect.DeepEqual(got[0], b) {
		t.Errorf("second region holds %+v", got)
	}
	// The same local id may exist in two regions.
	e := object(30, 5)
	if err := s.Objects().Save(ctx, r2.ID, e); err != nil {
		t.Errorf("local id 30 in a second region: %v", err)
	}

	// Delete.
	if err := s.Objects().Delete(ctx, r.ID, a.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Objects().Load(ctx, r.ID)
	if len(got) != 1 || got[0].ID != c.ID {
		t.Errorf("after Delete: %+v", got)
	}
	if err := s.Objects().Delete(ctx, r.ID); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
	if err := s.Objects().Save(ctx, r.ID); err != nil {
		t.Errorf("Save of nothing: %v", err)
	}
}

func testObjectErrors(t *testing.T, h *harness) {
	s := h.s
	r := mustRegion(t, s, "Home", 1000, 1000)
	r2 := mustRegion(t, s, "Away", 1001, 1000)
	unknown := ritual.NewUUID()
	a := object(1, 1)
	if err := s.Objects().Save(ctx, r.ID, a); err != nil {
		t.Fatal(err)
	}

	_, err := s.Objects().Load(ctx, unknown)
	wantErr(t, "Load of unknown region", err, store.ErrNotFound)
	wantErr(t, "Save to unknown region", s.Objects().Save(ctx, unknown, object(2, 2)), store.ErrNotFound)
	wantErr(t, "local id taken", s.Objects().Save(ctx, r.ID, object(1, 3)), store.ErrExists)
	// All or none: the first object of a failing call is not kept.
	fresh := object(5, 4)
	wantErr(t, "local id repeated in one call", s.Objects().Save(ctx, r.ID, fresh, object(5, 5)), store.ErrExists)

	nan := object(6, 6)
	nan.Rotation.W = float32(math.NaN())
	inf := object(7, 7)
	inf.Scale.Y = float32(math.Inf(1))
	self := object(8, 8)
	self.Parent = self.ID
	zeroLocal := object(0, 9)
	zeroID := object(9, 10)
	zeroID.ID = ritual.UUID{}
	bigTE := object(10, 11)
	bigTE.TextureEntry = make([]byte, store.MaxTextureEntry+1)
	bigEP := object(11, 12)
	bigEP.ExtraParams = make([]byte, store.MaxExtraParams+1)
	longName := object(12, 13)
	longName.Name = strings.Repeat("n", store.MaxObjectText+1)
	nlName := object(13, 14)
	nlName.Name = "two\nlines"
	badText := object(14, 15)
	badText.Text = "\xff"
	for _, c := range []struct {
		name string
		o    store.Object
	}{
		{"NaN rotation", nan}, {"infinite scale", inf}, {"own parent", self},
		{"local id 0", zeroLocal}, {"zero UUID", zeroID},
		{"long TextureEntry", bigTE}, {"long ExtraParams", bigEP},
		{"long name", longName}, {"newline in name", nlName}, {"bad UTF-8 text", badText},
	} {
		wantErr(t, "Save with "+c.name, s.Objects().Save(ctx, r.ID, fresh, c.o), store.ErrInvalid)
	}
	got, _ := s.Objects().Load(ctx, r.ID)
	if len(got) != 1 || !reflect.DeepEqual(got[0], a) {
		t.Errorf("failed saves changed the region to %+v", got)
	}

	wantErr(t, "Delete unknown object", s.Objects().Delete(ctx, r.ID, unknown), store.ErrNotFound)
	wantErr(t, "Delete from the wrong region", s.Objects().Delete(ctx, r2.ID, a.ID), store.ErrNotFound)
	wantErr(t, "Delete from unknown region", s.Objects().Delete(ctx, unknown, a.ID), store.ErrNotFound)
	wantErr(t, "Delete with one unknown", s.Objects().Delete(ctx, r.ID, a.ID, unknown), store.ErrNotFound)
	if got, _ := s.Objects().Load(ctx, r.ID); len(got) != 1 {
		t.Errorf("failed deletes removed objects: %d left", len(got))
	}
}

func testCascades(t *testing.T, h *harness) {
	s := h.s
	// Deleting an account deletes its inventory.
	a := mustAccount(t, s, "Test", "User")
	root, _ := s.Inventory().Root(ctx, a.ID)
	sub := &store.Folder{Owner: a.ID, Parent: root.ID, Name: "Mine"}
	if err := s.Inventory().Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := s.Accounts().Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []ritual.UUID{root.ID, sub.ID} {
		_, err := s.Inventory().Get(ctx, id)
		wantErr(t, "folder of a deleted account", err, store.ErrNotFound)
	}
	_, err := s.Inventory().Skeleton(ctx, a.ID)
	wantErr(t, "skeleton of a deleted account", err, store.ErrNotFound)

	// Deleting a region deletes its terrain and objects; other regions keep
	// theirs.
	r := mustRegion(t, s, "Doomed", 1000, 1000)
	keep := mustRegion(t, s, "Kept", 1001, 1000)
	o := object(1, 1)
	if err := s.Terrain().Save(ctx, r.ID, heightmap(4, 4, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Objects().Save(ctx, r.ID, o); err != nil {
		t.Fatal(err)
	}
	if err := s.Terrain().Save(ctx, keep.ID, heightmap(4, 4, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Objects().Save(ctx, keep.ID, object(1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Regions().Delete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Terrain().Load(ctx, r.ID)
	wantErr(t, "terrain of a deleted region", err, store.ErrNotFound)
	_, err = s.Objects().Load(ctx, r.ID)
	wantErr(t, "objects of a deleted region", err, store.ErrNotFound)
	// A region made again with the same id starts empty.
	again := &store.Region{ID: r.ID, Name: "Doomed", GridX: 1000, GridY: 1000}
	if err := s.Regions().Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	if objs, err := s.Objects().Load(ctx, r.ID); err != nil || len(objs) != 0 {
		t.Errorf("recreated region has %d objects, %v", len(objs), err)
	}
	if err := s.Objects().Save(ctx, r.ID, o); err != nil {
		t.Errorf("object id of a deleted region not reusable: %v", err)
	}
	if hm, err := s.Terrain().Load(ctx, keep.ID); err != nil || !reflect.DeepEqual(hm, heightmap(4, 4, 2)) {
		t.Errorf("other region's terrain: %v", err)
	}
	if objs, _ := s.Objects().Load(ctx, keep.ID); len(objs) != 1 {
		t.Errorf("other region has %d objects", len(objs))
	}
}

func testPersistence(t *testing.T, h *harness) {
	a := mustAccount(t, h.s, "Test", "User")
	root, _ := h.s.Inventory().Root(ctx, a.ID)
	sub := &store.Folder{Owner: a.ID, Parent: root.ID, Name: "Kept", Type: store.FolderNone}
	if err := h.s.Inventory().Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Inventory().BumpVersion(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	sk, _ := h.s.Inventory().Skeleton(ctx, a.ID)
	r := mustRegion(t, h.s, "Home", 1000, 1000)
	hm := heightmap(16, 8, 3)
	if err := h.s.Terrain().Save(ctx, r.ID, hm); err != nil {
		t.Fatal(err)
	}
	objs := []store.Object{object(1, 1), object(2, 2)}
	if err := h.s.Objects().Save(ctx, r.ID, objs...); err != nil {
		t.Fatal(err)
	}

	h.reopen()
	h.reopen() // twice: opening an existing store must not change it

	if got, err := h.s.Accounts().ByName(ctx, "test", "user"); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("account after reopen = %+v, %v; want %+v", got, err, a)
	}
	if got, err := h.s.Inventory().Skeleton(ctx, a.ID); err != nil || !reflect.DeepEqual(got, sk) {
		t.Errorf("skeleton after reopen differs: %v", err)
	}
	if got, err := h.s.Regions().Get(ctx, r.ID); err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("region after reopen = %+v, %v; want %+v", got, err, r)
	}
	if got, err := h.s.Terrain().Load(ctx, r.ID); err != nil || !reflect.DeepEqual(got, hm) {
		t.Errorf("terrain after reopen differs: %v", err)
	}
	if got, err := h.s.Objects().Load(ctx, r.ID); err != nil || !reflect.DeepEqual(got, objs) {
		t.Errorf("objects after reopen differ: %v", err)
	}
	// And the reopened store is writable.
	mustAccount(t, h.s, "After", "Reopen")
}

func testClose(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	r := mustRegion(t, s, "Home", 1000, 1000)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["Accounts.Get"] = s.Accounts().Get(ctx, a.ID)
	_, checks["Accounts.ByName"] = s.Accounts().ByName(ctx, "Test", "User")
	_, checks["Accounts.List"] = s.Accounts().List(ctx)
	checks["Accounts.Create"] = s.Accounts().Create(ctx, &store.Account{First: "X", Last: "Y", PasswordHash: "h"})
	checks["Accounts.Delete"] = s.Accounts().Delete(ctx, a.ID)
	checks["Accounts.SetPassword"] = s.Accounts().SetPassword(ctx, a.ID, "h")
	_, checks["Inventory.Skeleton"] = s.Inventory().Skeleton(ctx, a.ID)
	_, checks["Inventory.Root"] = s.Inventory().Root(ctx, a.ID)
	_, checks["Inventory.Get"] = s.Inventory().Get(ctx, a.ID)
	checks["Inventory.Create"] = s.Inventory().Create(ctx, &store.Folder{Owner: a.ID, Parent: a.ID, Name: "x"})
	checks["Inventory.Delete"] = s.Inventory().Delete(ctx, a.ID)
	_, checks["Inventory.BumpVersion"] = s.Inventory().BumpVersion(ctx, a.ID)
	checks["Regions.Create"] = s.Regions().Create(ctx, &store.Region{Name: "Z", GridX: 1, GridY: 1})
	_, checks["Regions.Get"] = s.Regions().Get(ctx, r.ID)
	_, checks["Regions.ByName"] = s.Regions().ByName(ctx, "Home")
	_, checks["Regions.List"] = s.Regions().List(ctx)
	checks["Regions.Update"] = s.Regions().Update(ctx, r)
	checks["Regions.Delete"] = s.Regions().Delete(ctx, r.ID)
	_, checks["Terrain.Load"] = s.Terrain().Load(ctx, r.ID)
	checks["Terrain.Save"] = s.Terrain().Save(ctx, r.ID, heightmap(2, 2, 0))
	_, checks["Objects.Load"] = s.Objects().Load(ctx, r.ID)
	checks["Objects.Save"] = s.Objects().Save(ctx, r.ID, object(1, 1))
	checks["Objects.Delete"] = s.Objects().Delete(ctx, r.ID, a.ID)
	for name, err := range checks {
		wantErr(t, name+" after Close", err, store.ErrClosed)
	}
	// Nothing was written after Close.
	h.s = h.open(t, h.dir)
	if _, err := h.s.Accounts().Get(ctx, a.ID); err != nil {
		t.Errorf("account gone after calls on a closed store: %v", err)
	}
	if _, err := h.s.Accounts().ByName(ctx, "X", "Y"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account created on a closed store: %v", err)
	}
}

func testConcurrency(t *testing.T, h *harness) {
	s := h.s
	r := mustRegion(t, s, "Busy", 1000, 1000)
	const workers, each = 6, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				a := &store.Account{First: fmt.Sprintf("W%d", w), Last: fmt.Sprintf("N%d", i), PasswordHash: hash("c")}
				if err := s.Accounts().Create(ctx, a); err != nil {
					errs <- err
					continue
				}
				if got, err := s.Accounts().ByName(ctx, a.First, a.Last); err != nil || got.ID != a.ID {
					errs <- fmt.Errorf("read own write %s: %v", a.Name(), err)
				}
				if _, err := s.Inventory().Skeleton(ctx, a.ID); err != nil {
					errs <- err
				}
				if err := s.Objects().Save(ctx, r.ID, object(uint32(w*each+i+1), byte(i))); err != nil {
					errs <- err
				}
				if _, err := s.Objects().Load(ctx, r.ID); err != nil {
					errs <- err
				}
				if _, err := s.Accounts().List(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, _ := s.Accounts().List(ctx)
	objs, _ := s.Objects().Load(ctx, r.ID)
	if len(list) != workers*each || len(objs) != workers*each {
		t.Errorf("after concurrent writes: %d accounts, %d objects; want %d each", len(list), len(objs), workers*each)
	}
}

func testContext(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Accounts().Get(cctx, a.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v", err)
	}
	err := s.Accounts().Create(cctx, &store.Account{First: "Late", Last: "Comer", PasswordHash: hash("x")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context: %v", err)
	}
	if _, err := s.Accounts().ByName(ctx, "Late", "Comer"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Create with a cancelled context created the account: %v", err)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }

func testOfflineMessages(t *testing.T, h *harness) {
	to := mustAccount(t, h.s, "Offline", "Reader")
	from := mustAccount(t, h.s, "Busy", "Writer")
	ms := h.s.Messages()
	if got, err := ms.Take(ctx, to.ID); err != nil || len(got) != 0 {
		t.Fatalf("Take with nothing waiting = %v, %v; want none", got, err)
	}
	first := &store.OfflineMessage{
		To: to.ID, From: from.ID, FromName: from.Name(), Text: "hello while you were away",
		Bucket: []byte{1, 2, 3}, RegionID: ritual.NewUUID(), Position: ritual.Vector3{X: 1.5, Y: 2, Z: 30},
		Sent: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
	}
	if err := ms.Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	if first.ID.IsZero() || !first.Sent.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Save wrote back ID %v Sent %v; want a fresh ID and the time to the second", first.ID, first.Sent)
	}
	second := &store.OfflineMessage{To: to.ID, From: from.ID, FromName: from.Name(), Text: "second", Dialog: 0}
	if err := ms.Save(ctx, second); err != nil {
		t.Fatal(err)
	}
	if second.Sent.IsZero() {
		t.Error("Save left Sent zero")
	}
	// Kept across a reopen, then taken once, oldest first.
	h.reopen()
	ms = h.s.Messages()
	got, err := ms.Take(ctx, to.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], *first) || got[1].Text != "second" || got[1].ID != second.ID {
		t.Fatalf("Take = %+v\nwant %+v then %+v", got, *first, *second)
	}
	if got, err := ms.Take(ctx, to.ID); err != nil || len(got) != 0 {
		t.Errorf("second Take = %v, %v; want none", got, err)
	}

	wantErr(t, "unknown recipient", ms.Save(ctx, &store.OfflineMessage{To: ritual.NewUUID(), Text: "x"}), store.ErrNotFound)
	wantErr(t, "no recipient", ms.Save(ctx, &store.OfflineMessage{Text: "x"}), store.ErrInvalid)
	wantErr(t, "long text", ms.Save(ctx, &store.OfflineMessage{To: to.ID, Text: strings.Repeat("x", store.MaxMessageText+1)}), store.ErrInvalid)
	wantErr(t, "long name", ms.Save(ctx, &store.OfflineMessage{To: to.ID, FromName: strings.Repeat("x", store.MaxMessageName+1)}), store.ErrInvalid)
	wantErr(t, "long bucket", ms.Save(ctx, &store.OfflineMessage{To: to.ID, Bucket: make([]byte, store.MaxMessageBucket+1)}), store.ErrInvalid)

	// A mailbox holds MaxOfflineMessages; the one after is refused.
	for i := range store.MaxOfflineMessages {
		if err := ms.Save(ctx, &store.OfflineMessage{To: to.ID, Text: fmt.Sprint(i)}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	wantErr(t, "full mailbox", ms.Save(ctx, &store.OfflineMessage{To: to.ID, Text: "one too many"}), store.ErrFull)
	// Deleting the account deletes its messages.
	if err := h.s.Accounts().Delete(ctx, to.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := ms.Take(ctx, to.ID); err != nil || len(got) != 0 {
		t.Errorf("Take after the account was deleted = %d messages, %v", len(got), err)
	}
}
