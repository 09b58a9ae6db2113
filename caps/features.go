package caps

import (
	"net/http"
)

// serveFeatures answers SimulatorFeatures: the configured feature map, to
// GET (as viewers ask) or POST.
func (r *Router) serveFeatures(w http.ResponseWriter, req *http.Request, g *grant) string {
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "caps: SimulatorFeatures: method "+req.Method+" not allowed, use GET or POST", http.StatusMethodNotAllowed)
		return ""
	}
	r.writeLLSD(w, SimulatorFeatures, r.cfg.Features)
	return ""
}
