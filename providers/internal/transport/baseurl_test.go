package transport

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{"https://api.hubapi.com", "https://api.hubapi.com", true},
		{" https://na1.my.salesforce.com/ ", "https://na1.my.salesforce.com", true},
		{"https://proxy.example.test/hubspot/", "https://proxy.example.test/hubspot", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://[::1]:8080", "http://[::1]:8080", true},
		{"http://localhost:8080", "http://localhost:8080", true},
		{"http://api.hubapi.com", "", false},
		{"ftp://api.hubapi.com", "", false},
		{"https://user:secret@api.hubapi.com", "", false},
		{"https://api.hubapi.com?x=1", "", false},
		{"https://api.hubapi.com#top", "", false},
		{"api.hubapi.com", "", false},
		{"/crm", "", false},
	} {
		got, reason := CheckBaseURL(tc.raw, "https://api.example.test")
		require.Equal(t, tc.want, got, tc.raw)
		require.Equal(t, tc.ok, reason == "", "%s: %s", tc.raw, reason)
		require.NotContains(t, reason, "secret", "the URL is never repeated")
	}
}
