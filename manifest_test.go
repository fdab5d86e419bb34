package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// fullManifest uses every manifest field.
const fullManifest = `specVersion: 1.0.0
integrations:
  - name: write-to-salesforce
    displayName: Write to Salesforce
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: accountWebhook
          mapToName: company
          requiredFields:
            - fieldName: name
          optionalFields:
            - fieldName: phone
              mapToName: phoneNumber
              mapToDisplayName: Phone number
            - mapToName: customSource
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: touchpoints__c
  - name: hubspot_contacts
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

func TestParseManifestFull(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(fullManifest))
	require.NoError(t, err)
	want := &writeback.Manifest{
		SpecVersion: "1.0.0",
		Integrations: []writeback.Integration{
			{
				Name:        "write-to-salesforce",
				DisplayName: "Write to Salesforce",
				Provider:    "salesforce",
				Read: &writeback.ReadSpec{Objects: []writeback.ReadObjectSpec{{
					ObjectName:     "account",
					Destination:    "accountWebhook",
					MapToName:      "company",
					RequiredFields: []writeback.FieldSpec{{FieldName: "name"}},
					OptionalFields: []writeback.FieldSpec{
						{FieldName: "phone", MapToName: "phoneNumber", MapToDisplayName: "Phone number"},
						{MapToName: "customSource"},
					},
				}}},
				Write: &writeback.WriteSpec{Objects: []writeback.WriteObjectSpec{
					{ObjectName: "account", InheritMapping: true},
					{ObjectName: "touchpoints__c"},
				}},
			},
			{
				Name:     "hubspot_contacts",
				Provider: "hubspot",
				Write:    &writeback.WriteSpec{Objects: []writeback.WriteObjectSpec{{ObjectName: "contacts"}}},
			},
		},
	}
	require.Equal(t, want, m)
}

func TestParseManifestRoundTrip(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(fullManifest))
	require.NoError(t, err)
	out, err := yaml.Marshal(m)
	require.NoError(t, err)
	again, err := writeback.ParseManifest(out)
	require.NoError(t, err)
	require.Equal(t, m, again)
}

func TestParseManifestEmptyFieldListsAreAbsent(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: a
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          requiredFields: []
          optionalFields: []
`))
	require.NoError(t, err)
	require.Nil(t, m.Integrations[0].Read.Objects[0].RequiredFields)
	require.Nil(t, m.Integrations[0].Read.Objects[0].OptionalFields)
}

// manifestWith returns a one-integration manifest whose integration body is
// body, indented under "  - ".
func manifestWith(body string) string {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	var b strings.Builder
	b.WriteString("specVersion: 1.0.0\nintegrations:\n")
	for i, l := range lines {
		if i == 0 {
			b.WriteString("  - " + l + "\n")
		} else {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

func TestParseManifestInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		yaml  string
		field string
		// reason is a substring of the error's Reason.
		reason string
	}{
		{"empty", "", "", "empty document"},
		{"only a comment", "# nothing\n", "", "empty document"},
		{"syntax error", "specVersion: 1.0.0\nintegrations:\n  - name: a\n  provider: x\n", "line 2", "expected"},
		{"tab indentation", "specVersion: 1.0.0\nintegrations:\n\t- name: a\n", "line 3", ""},
		{"two documents", "specVersion: 1.0.0\n---\nspecVersion: 2.0.0\n", "line 2", "more than one"},
		{"not a mapping", "- a\n- b\n", "", "expected a mapping at line 1"},
		{"unknown top-level key", "specVersion: 1.0.0\nspecversion: 1\n", "specversion", "unknown field at line 2"},
		{"unknown nested key", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: x\n      inheritMappin: true\n"),
			"integrations[0].write.objects[0].inheritMappin", "unknown field at line 8"},
		{"unknown read field key", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: x\n      optionalFields:\n        - fieldname: y\n"),
			"integrations[0].read.objects[0].optionalFields[0].fieldname", "line 9"},
		{"unknown key in valueDefaults's place", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: x\n      valueDefault: {allowAnyFields: true}\n"),
			"integrations[0].write.objects[0].valueDefault", "unknown field at line 8"},
		{"unknown key through a merge", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - <<: {objectName: x, inherit: true}\n"),
			"integrations[0].write.objects[0].inherit", "unknown field at line 7"},
		{"write object name with a slash", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: contacts/1\n"),
			"integrations[0].write.objects[0].objectName", "not a plain object name"},
		{"read object name with dots", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: ../x\n"),
			"integrations[0].read.objects[0].objectName", "not a plain object name"},
		{"duplicate key", "specVersion: 1.0.0\nspecVersion: 1.0.0\n", "line 2", "already defined"},
		{"integrations not a list", "specVersion: 1.0.0\nintegrations: 3\n", "integrations", "expected a sequence at line 2"},
		{"write not a mapping", manifestWith("name: a\nprovider: hubspot\nwrite: [x]\n"), "integrations[0].write", "expected a mapping"},
		{"bool of the wrong type", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: x\n      inheritMapping: [1]\n"),
			"line 8", "cannot unmarshal"},
		{"string of the wrong type", manifestWith("name: {a: b}\nprovider: hubspot\n"), "line 3", "cannot unmarshal"},
		{"missing specVersion", "integrations:\n  - name: a\n    provider: hubspot\n", "specVersion", "required"},
		{"no integrations", "specVersion: 1.0.0\n", "integrations", "at least one"},
		{"missing name", manifestWith("provider: hubspot\n"), "integrations[0].name", "required (line 3)"},
		{"name with upper case", manifestWith("name: Write\nprovider: hubspot\n"), "integrations[0].name", "[a-z0-9-_]"},
		{"name with a space", manifestWith("name: a b\nprovider: hubspot\n"), "integrations[0].name", "[a-z0-9-_]"},
		{"name too long", manifestWith("name: " + strings.Repeat("a", 65) + "\nprovider: hubspot\n"), "integrations[0].name", "64"},
		{"duplicate name", "specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n  - name: a\n    provider: salesforce\n",
			"integrations[1].name", "duplicate integration \"a\" (also integrations[0]) (line 5)"},
		{"displayName too long", manifestWith("name: a\ndisplayName: " + strings.Repeat("é", 101) + "\nprovider: hubspot\n"), "integrations[0].displayName", "100"},
		{"missing provider", manifestWith("name: a\n"), "integrations[0].provider", "required"},
		{"provider not lower case", manifestWith("name: a\nprovider: HubSpot\n"), "integrations[0].provider", "lower-case"},
		{"write without objects", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects: []\n"), "integrations[0].write.objects", "at least one"},
		{"write object without name", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - inheritMapping: false\n"),
			"integrations[0].write.objects[0].objectName", "required (line 7)"},
		{"write object name with a control character", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: \"a\\x01\"\n"),
			"integrations[0].write.objects[0].objectName", "control character"},
		{"duplicate write object", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: x\n    - objectName: y\n    - objectName: x\n"),
			"integrations[0].write.objects[2].objectName", "duplicate object \"x\""},
		{"read without objects", manifestWith("name: a\nprovider: hubspot\nread: {objects: []}\n"), "integrations[0].read.objects", "at least one"},
		{"read object without name", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - destination: d\n"),
			"integrations[0].read.objects[0].objectName", "required"},
		{"duplicate read object", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: x\n    - objectName: x\n"),
			"integrations[0].read.objects[1].objectName", "duplicate object"},
		{"read object mapToName taken", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: x\n      mapToName: y\n    - objectName: y\n"),
			"integrations[0].read.objects[0].mapToName", "already the name of objects[1]"},
		{"field without names", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: x\n      requiredFields:\n        - mapToDisplayName: Phone\n"),
			"integrations[0].read.objects[0].requiredFields[0]", "fieldName or mapToName"},
		{"duplicate mapToName", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: x\n      requiredFields:\n        - {fieldName: a, mapToName: m}\n      optionalFields:\n        - {fieldName: b, mapToName: m}\n"),
			"integrations[0].read.objects[0].optionalFields[0].mapToName", "duplicate mapToName \"m\" (also requiredFields[0])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := writeback.ParseManifest([]byte(tt.yaml))
			require.Nil(t, m)
			require.ErrorIs(t, err, writeback.ErrInvalidManifest)
			var ve *writeback.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, "error: %v", err)
			require.Contains(t, ve.Reason, tt.reason)
		})
	}
}

func TestParseManifestLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(manifestWith(
		"name: " + strings.Repeat("a", 64) + "\ndisplayName: " + strings.Repeat("é", 100) + "\nprovider: hubspot\n")))
	require.NoError(t, err)
	require.Len(t, m.Integrations[0].Name, 64)
}

func TestParseManifestAliases(t *testing.T) {
	t.Parallel()
	// Aliased content is decoded, and checked as strictly as the rest.
	m, err := writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: a
    provider: hubspot
    write: &w
      objects:
        - objectName: contacts
  - name: b
    provider: hubspot
    write: *w
`))
	require.NoError(t, err)
	require.Equal(t, m.Integrations[0].Write, m.Integrations[1].Write)

	_, err = writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: a
    provider: hubspot
    write: *w
x: &w
  objects: []
`))
	require.ErrorIs(t, err, writeback.ErrInvalidManifest)

	_, err = writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: a
    provider: hubspot
    write: &w
      objects:
        - objectName: contacts
          typo: true
  - name: b
    provider: hubspot
    write: *w
`))
	require.ErrorIs(t, err, writeback.ErrInvalidManifest)
}

func TestParseManifestMergeKeys(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - &base
    name: a
    provider: hubspot
  - <<: *base
    name: b
`))
	require.NoError(t, err)
	require.Equal(t, "hubspot", m.Integrations[1].Provider)
	require.Equal(t, "b", m.Integrations[1].Name)

	// What a merge key brings is checked as strictly as the rest.
	_, err = writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - <<: {provider: hubspot, displayname: A}
    name: b
`))
	require.ErrorIs(t, err, writeback.ErrInvalidManifest)
	require.ErrorContains(t, err, "displayname")
}

func TestManifestValidate(t *testing.T) {
	t.Parallel()
	var nilManifest *writeback.Manifest
	require.ErrorIs(t, nilManifest.Validate(), writeback.ErrInvalidManifest)

	m := &writeback.Manifest{
		SpecVersion: "1.0.0",
		Integrations: []writeback.Integration{{
			Name:     "crm",
			Provider: "hubspot",
			Write:    &writeback.WriteSpec{Objects: []writeback.WriteObjectSpec{{ObjectName: "contacts"}, {ObjectName: "companies", InheritMapping: true}}},
		}},
	}
	require.NoError(t, m.Validate(), "inheritMapping without a read object is accepted")
	require.Equal(t, []writeback.IgnoredKey{{
		Path:   "integrations[0].write.objects[1].inheritMapping",
		Reason: `no read object "companies" to inherit a mapping from: fields are written under the names the application sends`,
	}}, m.Ignored())

	m.Integrations[0].Read = &writeback.ReadSpec{Objects: []writeback.ReadObjectSpec{{ObjectName: "companies"}}}
	require.NoError(t, m.Validate())
	require.Empty(t, m.Ignored())

	m.Integrations[0].Write.Objects[0].ObjectName = "../contacts"
	var ve *writeback.ValidationError
	require.ErrorAs(t, m.Validate(), &ve)
	require.Equal(t, "integrations[0].write.objects[0].objectName", ve.Field)
}

func TestManifestLookups(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(fullManifest))
	require.NoError(t, err)

	in, ok := m.Integration("write-to-salesforce")
	require.True(t, ok)
	require.Equal(t, "salesforce", in.Provider)
	_, ok = m.Integration("missing")
	require.False(t, ok)

	wo, ok := in.WriteObject("account")
	require.True(t, ok)
	require.True(t, wo.InheritMapping)
	_, ok = in.WriteObject("company") // mapToName is not an object name
	require.False(t, ok)
	_, ok = in.WriteObject("Account") // names are case-sensitive
	require.False(t, ok)

	ro, ok := in.ReadObject("account")
	require.True(t, ok)
	require.Equal(t, "company", ro.MapToName)
	_, ok = in.ReadObject("touchpoints__c")
	require.False(t, ok)

	hs, ok := m.Integration("hubspot_contacts")
	require.True(t, ok)
	_, ok = hs.ReadObject("contacts") // no read section
	require.False(t, ok)

	var nilManifest *writeback.Manifest
	_, ok = nilManifest.Integration("write-to-salesforce")
	require.False(t, ok)
	var nilIntegration *writeback.Integration
	_, ok = nilIntegration.WriteObject("account")
	require.False(t, ok)
	_, ok = nilIntegration.ReadObject("account")
	require.False(t, ok)
}

func TestParseManifestErrorIsNotWrapped(t *testing.T) {
	t.Parallel()
	// Callers branch on the sentinel and read the field from the
	// ValidationError directly.
	_, err := writeback.ParseManifest([]byte("specVersion: 1.0.0\n"))
	var ve *writeback.ValidationError
	require.True(t, errors.As(err, &ve))
	require.Equal(t, writeback.ErrInvalidManifest, ve.Err)
}

// realWorldManifest uses amp.yaml keys writeback does not act on, and the
// reference's example of inheritMapping without a read section.
const realWorldManifest = `specVersion: 1.0.0
integrations:
  - name: read-and-write
    provider: salesforce
    module: crm
    read:
      objects:
        - objectName: account
          destination: accountWebhook
          schedule: "*/10 * * * *"
          mapToDisplayName: Company
          backfill:
            defaultPeriod:
              days: 30
          delivery: {mode: auto}
          requiredFields:
            - fieldName: name
          optionalFields:
            - mapToName: source
              prompt: Where did the account come from?
              default: {value: web}
          optionalFieldsAuto: all
    write:
      objects:
        - objectName: account
          inheritMapping: true
          valueDefaults:
            allowAnyFields: true
    proxy:
      enabled: true
    subscribe:
      objects:
        - objectName: account
          destination: accountEvents
          createEvent: {enabled: always}
  - name: write-to-salesforce
    provider: salesforce
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: touchpoints__c
`

func TestParseManifestAcceptsTheDocumentedSchema(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(realWorldManifest))
	require.NoError(t, err)
	paths := map[string]int{}
	for _, k := range m.Ignored() {
		require.NotEmpty(t, k.Reason, k.Path)
		paths[k.Path] = k.Line
	}
	require.Equal(t, map[string]int{
		"integrations[0].module":                                    5,
		"integrations[0].read.objects[0].schedule":                  10,
		"integrations[0].read.objects[0].mapToDisplayName":          11,
		"integrations[0].read.objects[0].backfill":                  12,
		"integrations[0].read.objects[0].delivery":                  15,
		"integrations[0].read.objects[0].optionalFields[0].prompt":  20,
		"integrations[0].read.objects[0].optionalFields[0].default": 21,
		"integrations[0].read.objects[0].optionalFieldsAuto":        22,
		"integrations[0].write.objects[0].valueDefaults":            27,
		"integrations[0].proxy":                                     29,
		"integrations[0].subscribe":                                 31,
		"integrations[1].write.objects[0].inheritMapping":           41,
	}, paths)
	require.True(t, m.Integrations[1].Write.Objects[0].InheritMapping)
}

// TestWriterLogsIgnoredManifestKeysOnce builds a Writer on a manifest with
// ignored keys: one log record lists them all. A write object with
// inheritMapping but no read object writes fields under their own names.
func TestWriterLogsIgnoredManifestKeysOnce(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(realWorldManifest))
	require.NoError(t, err)
	var logs logRecorder
	sf := providertest.NewFake("salesforce", writeback.Capabilities{})
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{sf},
		Store:           memstore.New(),
		TokenSourceFunc: providertest.StaticTokens("t"),
		Logger:          slog.New(&logs),
	})
	require.NoError(t, err)
	msgs := logs.messages()
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "integrations[0].read.objects[0].schedule")
	require.Contains(t, msgs[0], "integrations[1].write.objects[0].inheritMapping")

	ctx := t.Context()
	_, err = w.CreateInstallation(ctx, &writeback.Installation{Integration: "write-to-salesforce", GroupRef: "g",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"account": {}}}}})
	require.NoError(t, err)
	_, err = w.Create(ctx, writeback.Target{Integration: "write-to-salesforce", GroupRef: "g", Object: "account"},
		writeback.Record{Fields: map[string]any{"Name": "Acme"}}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"Name": "Acme"}, sf.Writes()[0].Records[0].Fields)

	_, err = w.CreateInstallation(ctx, &writeback.Installation{Integration: "write-to-salesforce", GroupRef: "h",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"account": {RemoveUnmappedFields: true}}}}})
	require.ErrorIs(t, err, writeback.ErrInvalidInstallation, "nothing is mapped: removeUnmappedFields would strip every field")
}

// logRecorder is a slog.Handler that keeps each record's message and
// attributes as text.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, b.String())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.recs...)
}
