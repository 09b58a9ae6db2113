package login

// RequestFormat tells the wire form of a login request body exactly as the
// login service does: by its document element (<llsd> or <methodCall>),
// then by its Content-Type; anything else is taken for XML-RPC. Relays and
// observers use it to read a login the way the service will.
func RequestFormat(contentType string, body []byte) Format {
	return requestFormat(contentType, body)
}

// RequestSummary is what an observer may tell of a login request: who logs
// in and with which viewer. It never holds the password.
type RequestSummary struct {
	Format                     Format
	First, Last                string
	Channel, Version, Platform string
	Start                      string
}

// ParseRequest reads a login_to_simulator request of either form (told by
// RequestFormat). It reports false when body is not a login request (wrong
// method, not a struct or map, malformed). Strings are cut to 255 bytes.
func ParseRequest(contentType string, body []byte) (RequestSummary, bool) {
	f := requestFormat(contentType, body)
	req, bad := decodeRequest(f, body)
	if bad != nil {
		return RequestSummary{Format: f}, false
	}
	return RequestSummary{
		Format: f, First: clip(req.first), Last: clip(req.last),
		Channel: clip(req.channel), Version: clip(req.version), Platform: clip(req.platform),
		Start: clip(req.start),
	}, true
}
