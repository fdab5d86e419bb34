package transport

import (
	"net/netip"
	"net/url"
	"strings"
)

// CheckBaseURL checks the base URL of a provider's API (HubSpot's API host,
// a Salesforce instance URL) and returns it without surrounding space or a
// trailing slash. It must be absolute, without credentials, query or
// fragment, and use https, or plain http on a loopback host (simulators,
// local proxies): bearer tokens never travel in clear text. When it is not
// acceptable, reason says why, naming example as a good one; the URL
// itself is never repeated, since it may carry a password.
func CheckBaseURL(raw, example string) (base, reason string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "must be an absolute URL such as " + example + ", without query or credentials"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	default:
		return "", "must use https (plain http is allowed only for loopback hosts): bearer tokens never travel in clear text"
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), ""
}

// loopback reports whether host is localhost or a loopback IP address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
