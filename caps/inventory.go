package caps

import (
	"errors"
	"fmt"
	"net/http"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/store"
)

// MaxFetchFolders bounds the folders one FetchInventoryDescendents2 request
// may ask for; viewers ask for a handful at a time.
const MaxFetchFolders = 256

// badFolderError is the error text of a bad_folders entry, as OpenSimulator
// writes it. A folder of another owner reads the same as one that does not
// exist, so that an agent learns nothing of other agents' folders.
const badFolderError = "Unknown"

func (r *Router) serveFetchInventory(w http.ResponseWriter, req *http.Request, g *grant) string {
	return r.serveFetch(w, req, g, FetchInventoryDescendents2, g.agent.ID)
}

func (r *Router) serveFetchLibrary(w http.ResponseWriter, req *http.Request, g *grant) string {
	return r.serveFetch(w, req, g, FetchLibDescendents2, r.cfg.LibraryOwner)
}

// serveFetch answers FetchInventoryDescendents2 and FetchLibDescendents2:
//
//	request  {folders: [{folder_id, owner_id, fetch_folders, fetch_items, sort_order}, …]}
//	answer   {folders: [{agent_id, owner_id, folder_id, descendents, version,
//	                     categories: [{folder_id, category_id, parent_id, name,
//	                                   type, type_default, version}, …],
//	                     items: []}, …],
//	          bad_folders: [{folder_id, error}, …]}   (only when there are any)
//
// Only folders of owner are served; the others, and folders that do not
// exist, are bad_folders. Folders hold no items yet. The zero folder id
// (some viewers ask for it) gets an empty entry of version 0, as
// OpenSimulator answers it.
func (r *Router) serveFetch(w http.ResponseWriter, req *http.Request, g *grant, op string, owner ritual.UUID) string {
	if e := requirePost(w, req, op); e != nil {
		fail(w, e)
		return ""
	}
	v, e := r.readLLSD(w, req, op, false)
	if e != nil {
		fail(w, e)
		return e.msg
	}
	asks, err := fetchRequests(v)
	if err != nil {
		e := badRequest("caps: %s: %v", op, err)
		fail(w, e)
		return e.msg
	}

	ctx := req.Context()
	var skeleton []store.Folder // owner's folders, read at the first need
	folders := make([]any, 0, len(asks))
	var bad []any
	seen := make(map[ritual.UUID]bool, len(asks))
	for _, a := range asks {
		if seen[a.folder] {
			continue
		}
		seen[a.folder] = true
		if a.folder.IsZero() {
			folders = append(folders, folderAnswer(g.agent.ID, owner, a.folder, 0, nil))
			continue
		}
		f, err := r.cfg.Inventory.Get(ctx, a.folder)
		switch {
		case errors.Is(err, store.ErrNotFound):
			bad = append(bad, badFolder(a.folder))
			continue
		case err != nil:
			return r.storeFailure(w, op, err)
		}
		if f.Owner != owner || (!a.owner.IsZero() && a.owner != owner) {
			bad = append(bad, badFolder(a.folder))
			continue
		}
		if skeleton == nil {
			skeleton, err = r.cfg.Inventory.Skeleton(ctx, owner)
			if err != nil {
				return r.storeFailure(w, op, err)
			}
		}
		var cats []any
		n := 0
		for _, c := range skeleton {
			if c.Parent != f.ID || c.ID == f.ID {
				continue
			}
			n++
			if a.fetchFolders {
				cats = append(cats, categoryAnswer(c))
			}
		}
		ans := folderAnswer(g.agent.ID, owner, f.ID, f.Version, cats)
		ans["descendents"] = n
		folders = append(folders, ans)
	}
	out := map[string]any{"folders": folders}
	if len(bad) > 0 {
		out["bad_folders"] = bad
	}
	r.writeLLSD(w, op, out)
	return fmt.Sprintf("%d folders, %d bad", len(folders), len(bad))
}

func (r *Router) storeFailure(w http.ResponseWriter, op string, err error) string {
	r.cfg.Logger.Error("caps: reading inventory", "capability", op, "err", err)
	http.Error(w, "caps: "+op+": inventory unavailable", http.StatusInternalServerError)
	return "inventory unavailable"
}

// fetchRequest is one entry of a FetchInventoryDescendents2 request.
type fetchRequest struct {
	folder, owner ritual.UUID
	fetchFolders  bool
}

// fetchRequests reads {folders: [{folder_id, owner_id, fetch_folders, …}]}.
// A request without folders asks for nothing.
func fetchRequests(v any) ([]fetchRequest, error) {
	m, ok := llsd.AsMap(v)
	if !ok {
		return nil, fmt.Errorf("request is %s, want a map {folders: [...]}", llsdKind(v))
	}
	fv, ok := m.Lookup("folders")
	if !ok || fv == nil {
		return nil, nil
	}
	arr, ok := llsd.AsArray(fv)
	if !ok {
		return nil, fmt.Errorf("folders is %s, want an array", llsdKind(fv))
	}
	if len(arr) > MaxFetchFolders {
		return nil, fmt.Errorf("%d folders asked for, at most %d per request", len(arr), MaxFetchFolders)
	}
	out := make([]fetchRequest, 0, len(arr))
	for i, e := range arr {
		em, ok := llsd.AsMap(e)
		if !ok {
			return nil, fmt.Errorf("folders[%d] is %s, want a map", i, llsdKind(e))
		}
		var fr fetchRequest
		id, ok := em.Lookup("folder_id")
		if fr.folder, ok = llsd.AsUUID(id); !ok {
			return nil, fmt.Errorf("folders[%d].folder_id is %s, want a uuid", i, llsdKind(id))
		}
		if o, ok := em.Lookup("owner_id"); ok {
			if fr.owner, ok = llsd.AsUUID(o); !ok {
				return nil, fmt.Errorf("folders[%d].owner_id is %s, want a uuid", i, llsdKind(o))
			}
		}
		fr.fetchFolders = em.Bool("fetch_folders")
		out = append(out, fr)
	}
	return out, nil
}

func folderAnswer(agent, owner, folder ritual.UUID, version int32, cats []any) map[string]any {
	if cats == nil {
		cats = []any{}
	}
	return map[string]any{
		"agent_id":    agent,
		"owner_id":    owner,
		"folder_id":   folder,
		"descendents": 0,
		"version":     version,
		"categories":  cats,
		"items":       []any{},
	}
}

// categoryAnswer describes a child folder. The folder id is written under
// both names viewers read (folder_id, as OpenSimulator writes it, and
// category_id), the folder type under type and type_default.
func categoryAnswer(f store.Folder) map[string]any {
	return map[string]any{
		"folder_id":    f.ID,
		"category_id":  f.ID,
		"parent_id":    f.Parent,
		"name":         f.Name,
		"type":         int32(f.Type),
		"type_default": int32(f.Type),
		"version":      f.Version,
	}
}

func badFolder(id ritual.UUID) map[string]any {
	return map[string]any{"folder_id": id, "error": badFolderError}
}
