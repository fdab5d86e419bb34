package hubspot_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAssociationsOnCreate(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	company := srv.Seed("companies", map[string]string{"name": "Acme"})
	deal := srv.Seed("deals", map[string]string{"dealname": "Big"})
	link := func(to string, typeID int) []writeback.Association {
		return []writeback.Association{{To: to, Types: []writeback.AssociationType{{TypeID: typeID}}}}
	}

	a := contact(0)
	a.Associations = link(company, 279)
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, a))
	require.NoError(t, err)
	rec, ok := srv.Get("contacts", resp.Results[0].ID)
	require.True(t, ok)
	require.Equal(t, []hubspottest.Association{{To: company, ToObject: "companies", TypeID: 279}}, rec.Associations)

	b, c := contact(1), contact(2)
	b.Associations = link(deal, 4)
	c.Associations = link("424242", 279)
	resp, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, false, b, c))
	require.NoError(t, err)
	require.Nil(t, resp.Results[0].Err)
	rec, _ = srv.Get("contacts", resp.Results[0].ID)
	require.Equal(t, []hubspottest.Association{{To: deal, ToObject: "deals", TypeID: 4}}, rec.Associations)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class, "the association target does not exist")

	// All or nothing: the bad association fails the batch.
	d := contact(3)
	d.Associations = link("424242", 279)
	resp, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, true, contact(4), d))
	require.NoError(t, err)
	require.NotNil(t, resp.Results[0].Err)
	require.NotNil(t, resp.Results[1].Err)
	require.Equal(t, 2, srv.Count("contacts"))
}

func TestReadOneCallPerBatch(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	var ids []string
	for i := range 150 {
		props := map[string]string{"email": fmt.Sprintf("r%d@example.com", i)}
		if i%2 == 0 {
			props["firstname"] = fmt.Sprintf("R%d", i)
		}
		ids = append(ids, srv.Seed("contacts", props))
	}
	read := func(ids []string) map[string]map[string]any {
		got, err := p.Read(t.Context(), &writeback.ReadRequest{
			InstallationID: "inst-1", TokenSource: hubspot.StaticToken(hubspottest.DefaultToken), Object: "contacts",
			IDs: ids, Fields: []string{"firstname", "phone"},
		})
		require.NoError(t, err)
		return got
	}
	got := read(ids[:100])
	require.Len(t, srv.Calls(), 1, "one read for a batch of 100")
	require.Len(t, got, 100)
	require.Equal(t, map[string]any{"firstname": "R0"}, got[ids[0]])
	require.Equal(t, map[string]any{}, got[ids[1]], "empty values are absent")

	got = read(ids)
	require.Len(t, srv.Calls(), 3, "more than 100 IDs take one read per 100")
	require.Len(t, got, 150)
}

func TestRateLimitResendAndReport(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	// Two 429s for the ten-second window, then HubSpot takes the call.
	srv.InjectFault(hubspottest.Fault{Status: 429, Times: 2})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(0)))
	require.NoError(t, err)
	require.Nil(t, resp.Results[0].Err)
	require.Len(t, srv.Calls(), 3)
	require.Equal(t, 1, srv.Count("contacts"), "resending a 429 creates one record")

	lim, ok := p.RateLimits("inst-1")
	require.True(t, ok)
	require.Equal(t, 10*time.Second, lim.Window)
	require.Equal(t, hubspottest.DefaultTenSecondLimit, lim.WindowMax)
	require.Equal(t, hubspottest.DefaultTenSecondLimit-1, lim.WindowRemaining)
	require.Equal(t, hubspottest.DefaultDailyLimit, lim.DailyMax)
	require.Equal(t, hubspottest.DefaultDailyLimit-1, lim.DailyRemaining)
	require.True(t, lim.DailyReset.After(time.Now()))
	_, ok = p.RateLimits("other-installation")
	require.False(t, ok)

	// A storm outlasts the resends: the engine gets a retryable error.
	srv.InjectFault(hubspottest.Fault{Status: 429, Times: 10})
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(1)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassRateLimited, perr.Class)
	require.True(t, perr.Retryable())
	require.Equal(t, 10*time.Millisecond, perr.RetryAfter)
	require.Len(t, srv.Calls(), 3+3, "three attempts")

	// DAILY is not resent.
	srv.ClearFaults()
	srv.InjectFault(hubspottest.Fault{Status: 429, PolicyName: "DAILY", Times: 10})
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(1)))
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassQuota, perr.Class)
	require.Greater(t, perr.RetryAfter, hubspot.DailyResetMargin)
	require.LessOrEqual(t, perr.RetryAfter, 24*time.Hour+hubspot.DailyResetMargin)
	require.Len(t, srv.Calls(), 3+3+1)
}

func TestDailyReserveKept(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{DailyLimit: 100, DailyUsed: 89})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(0)))
	require.NoError(t, err)
	require.Nil(t, resp.Results[0].Err)
	// 10 of 100 left: the last 10 % are kept for the customer's other integrations.
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(1)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassQuota, perr.Class)
	require.ErrorIs(t, err, hubspot.ErrDailyReserve)
	require.Positive(t, perr.RetryAfter)
	require.Len(t, srv.Calls(), 1, "nothing sent")
}

func TestUnknownOutcome(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})

	// A create whose answer is lost is never resent.
	srv.InjectFault(hubspottest.Fault{DropAfterProcessing: true})
	_, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, true, contact(0), contact(1)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassUnknownOutcome, perr.Class)
	require.False(t, perr.Retryable())
	require.Len(t, srv.Calls(), 1)
	require.Equal(t, 2, srv.Count("contacts"), "HubSpot did create them")

	// An update is idempotent: it is resent and succeeds.
	id := srv.Records("contacts")[0].ID
	srv.InjectFault(hubspottest.Fault{DropAfterProcessing: true})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: id, Fields: map[string]any{"firstname": "Again"}}))
	require.NoError(t, err)
	require.Nil(t, resp.Results[0].Err)
	require.Len(t, srv.Calls(), 3)

	// 5xx classes.
	for _, status := range []int{500, 423, 477} {
		srv.InjectFault(hubspottest.Fault{Status: status})
		_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(9)))
		require.ErrorAs(t, err, &perr, "status %d", status)
		require.Equal(t, writeback.ClassUnavailable, perr.Class, "status %d", status)
		require.NotEmpty(t, perr.CorrelationID)
	}
}

// TestUnknownOutcomeInProcess checks that the simulator's in-process
// client looks like a connection to the adapter: a create whose answer is
// lost after the simulator acted is an unknown outcome, never resent.
func TestUnknownOutcomeInProcess(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{})
	t.Cleanup(srv.Close)
	synctest.Test(t, func(t *testing.T) {
		p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.InProcessClient()})
		srv.InjectFault(hubspottest.Fault{DropAfterProcessing: true})
		_, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(0)))
		var perr *writeback.ProviderError
		require.ErrorAs(t, err, &perr)
		require.Equal(t, writeback.ClassUnknownOutcome, perr.Class)
		require.Len(t, srv.Calls(), 1, "not resent")
		require.Equal(t, 1, srv.Count("contacts"))
	})
}

func TestExpiredToken(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{Tokens: []string{"old"}})
	srv.ExpireToken("old")
	req := simRequest(writeback.WriteTypeCreate, false, false, contact(0))
	req.TokenSource = hubspot.StaticToken("old")
	_, err := p.Write(t.Context(), req)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassAuth, perr.Class)
	require.Contains(t, perr.Message, "expired")
	require.Len(t, srv.Calls(), 2, "one resend after asking the source again")
	require.False(t, strings.Contains(perr.Error(), "old"), "the token is not in the error")
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{TenSecondLimit: -1})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, false, contact(2*i), contact(2*i+1)))
			if err == nil && (resp.Results[0].Err != nil || resp.Results[1].Err != nil) {
				err = errors.New("record failed")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 40, srv.Count("contacts"))
}
