package writeback_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/writebackhq/writeback"
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
		{"valueDefaults is not supported", manifestWith("name: a\nprovider: hubspot\nwrite:\n  objects:\n    - objectName: x\n      valueDefaults: {allowAnyFields: true}\n"),
			"integrations[0].write.objects[0].valueDefaults", "unknown field"},
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
		{"inheritMapping without read object", manifestWith("name: a\nprovider: hubspot\nread:\n  objects:\n    - objectName: y\nwrite:\n  objects:\n    - objectName: x\n      inheritMapping: true\n"),
			"integrations[0].write.objects[0].inheritMapping", "needs a read object named \"x\""},
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
	err := m.Validate()
	var ve *writeback.ValidationError
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, writeback.ErrInvalidManifest)
	require.Equal(t, "integrations[0].write.objects[1].inheritMapping", ve.Field)

	m.Integrations[0].Read = &writeback.ReadSpec{Objects: []writeback.ReadObjectSpec{{ObjectName: "companies"}}}
	require.NoError(t, m.Validate())
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
