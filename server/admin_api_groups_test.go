package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// The admin API's groups and permissions, with their bad inputs, on both
// backends.

func groupURL(id any) string { return "/api/admin/groups/" + toString(id) + "/" }

func toString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatInt(int64(x), 10)
	}
	return v.(string)
}

func TestAdminGroups(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		viewUser, viewItem := f.perms["auth.view_user"].ID, f.perms["shop.view_item"].ID
		grouper := f.staff("grouper", false, "auth.add_group", "auth.change_group", "auth.delete_group", "auth.view_group", "auth.view_user")
		const list = "/api/admin/groups/"

		// Create: refusals first; none writes a group.
		groups := func() string { return string(f.do(f.root, "GET", list, nil).body) }
		f.refuse(t, "POST", list, []refusal{
			{"anonymous", "", map[string]any{"name": "editors"}, 401, msgNoCreds},
			{"not staff", f.plain, map[string]any{"name": "editors"}, 403, msgDenied},
			{"staff without add_group", f.viewer, map[string]any{"name": "editors"}, 403, msgDenied},
			{"missing name", f.root, map[string]any{}, 400, `{"name":["This field is required."]}`},
			{"blank name", f.root, map[string]any{"name": "  "}, 400, `{"name":["This field may not be blank."]}`},
			{"long name", f.root, map[string]any{"name": strings.Repeat("g", 151)}, 400, `{"name":["Ensure this field has no more than 150 characters."]}`},
			{"name not a string", f.root, map[string]any{"name": []int{1}}, 400, `{"name":["Not a valid string."]}`},
			{"unknown permission", f.root, map[string]any{"name": "editors", "permissions": []int64{viewUser, 9999}}, 400,
				`{"permissions":["Invalid pk \"9999\" - object does not exist."]}`},
			{"permissions not a list", f.root, map[string]any{"name": "editors", "permissions": 3}, 400,
				`{"permissions":["Expected a list of items but got type \"int\"."]}`},
			{"a permission the creator lacks", grouper, map[string]any{"name": "editors", "permissions": []int64{viewItem}}, 403, msgDenied},
		}, groups)
		expect(t, f.do(f.root, "GET", list, nil), 200, `{"count":0,"next":null,"previous":null,"results":[]}`)

		r := f.do(grouper, "POST", list, map[string]any{"name": " editors ", "permissions": []int64{viewUser}})
		expect(t, r, 201, "")
		g := r.json(t)
		id := g["id"].(float64)
		if g["name"] != "editors" || len(g["permissions"].([]any)) != 1 {
			t.Fatalf("created %s", r.body)
		}
		expect(t, f.do(f.root, "POST", list, map[string]any{"name": "editors"}), 400, `{"name":["group with this name already exists."]}`)
		r = f.do(f.root, "POST", list, map[string]any{"name": "shoppers", "permissions": []int64{viewItem, viewItem}})
		expect(t, r, 201, "")
		shoppers := r.json(t)["id"].(float64)

		// List and detail.
		r = f.do(grouper, "GET", list+"?page_size=1", nil)
		expect(t, r, 200, "")
		if m := r.json(t); m["count"] != float64(2) || m["next"] == nil {
			t.Fatalf("list: %s", r.body)
		}
		expect(t, f.do(f.viewer, "GET", list, nil), 403, msgDenied)
		expect(t, f.do(grouper, "GET", groupURL(id), nil), 200,
			`{"id":`+toString(id)+`,"name":"editors","permissions":[`+toString(viewUser)+`]}`)
		for _, p := range []string{groupURL(int64(9999)), groupURL("x")} {
			expect(t, f.do(grouper, "GET", p, nil), 404, msgNotFound)
		}

		// PATCH: refusals leave the group as it was.
		f.refuse(t, "PATCH", groupURL(id), []refusal{
			{"viewer", f.viewer, map[string]any{"name": "x"}, 403, msgDenied},
			{"taken name", f.root, map[string]any{"name": "shoppers"}, 400, `{"name":["group with this name already exists."]}`},
			{"blank name", f.root, map[string]any{"name": ""}, 400, `{"name":["This field may not be blank."]}`},
			{"unknown permission", f.root, map[string]any{"name": "renamed", "permissions": []int64{9999}}, 400,
				`{"permissions":["Invalid pk \"9999\" - object does not exist."]}`},
			{"a permission the changer lacks", grouper, map[string]any{"name": "renamed", "permissions": []int64{viewUser, viewItem}}, 403, msgDenied},
			{"null permissions", f.root, map[string]any{"permissions": nil}, 400, `{"permissions":["This field may not be null."]}`},
		}, func() string { return string(f.do(f.root, "GET", groupURL(id), nil).body) })
		expect(t, f.do(f.root, "PATCH", groupURL(int64(9999)), map[string]any{"name": "x"}), 404, msgNotFound)
		expect(t, f.do(grouper, "PATCH", groupURL(id), map[string]any{"name": "readers"}), 200,
			`{"id":`+toString(id)+`,"name":"readers","permissions":[`+toString(viewUser)+`]}`)
		expect(t, f.do(f.root, "PATCH", groupURL(id), map[string]any{"permissions": []int64{}}), 200,
			`{"id":`+toString(id)+`,"name":"readers","permissions":[]}`)

		// A group's permissions reach its members: a staff member of
		// shoppers... holds shop.view_item, which the admin does not
		// need; a member of a group with auth.view_user may list users.
		member := f.newUser("member", true, false)
		memberTok := "Token " + e.tokenOf("member", "memberpass")
		expect(t, f.do(memberTok, "GET", usersListURL, nil), 403, msgDenied)
		expect(t, f.do(f.root, "PATCH", groupURL(id), map[string]any{"permissions": []int64{viewUser}}), 200, "")
		expect(t, f.do(f.root, "PATCH", userURL(member.ID), map[string]any{"groups": []float64{id}}), 200, "")
		expect(t, f.do(memberTok, "GET", usersListURL, nil), 200, "")

		// DELETE: the grouper lacks shop.view_item, so not shoppers.
		expect(t, f.do(grouper, "DELETE", groupURL(shoppers), nil), 403, msgDenied)
		expect(t, f.do(f.root, "DELETE", groupURL(int64(9999)), nil), 404, msgNotFound)
		expect(t, f.do(grouper, "DELETE", groupURL(id), nil), 204, "")
		expect(t, f.do(grouper, "GET", groupURL(id), nil), 404, msgNotFound)
		expect(t, f.do(memberTok, "GET", usersListURL, nil), 403, msgDenied) // the group's permission left with it
		if r := f.do(f.root, "GET", userURL(member.ID), nil); len(r.json(t)["groups"].([]any)) != 0 {
			t.Fatalf("member still in a deleted group: %s", r.body)
		}

		events := map[string]int{}
		for _, ev := range e.auditRows() {
			events[ev.Event]++
			if strings.HasPrefix(ev.Event, "group.") && (ev.ActorID == 0 || ev.Detail["group_id"] == "") {
				t.Errorf("%+v", ev)
			}
		}
		if events[gatehouse.AuditGroupCreated] != 2 || events[gatehouse.AuditGroupChanged] != 3 || events[gatehouse.AuditGroupDeleted] != 1 {
			t.Fatalf("group events %v", events)
		}
	})
}

func TestAdminPermissions(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		const list = "/api/admin/permissions/"
		expect(t, f.do("", "GET", list, nil), 401, msgNoCreds)
		expect(t, f.do(f.plain, "GET", list, nil), 403, msgDenied)
		expect(t, f.do(f.clerk, "GET", list, nil), 403, msgDenied)
		expect(t, f.do(f.root, "POST", list, map[string]any{}), 405, `{"detail":"Method \"POST\" not allowed."}`)
		r := f.do(f.viewer, "GET", list+"?page_size=2&page=2", nil)
		expect(t, r, 200, "")
		p := f.perms["auth.add_user"]
		var page struct {
			Count   int              `json:"count"`
			Results []map[string]any `json:"results"`
		}
		decode(t, r, &page)
		if page.Count != len(adminPerms) || len(page.Results) != 2 || page.Results[0]["codename"] != "change_user" {
			t.Fatalf("page 2: %s", r.body)
		}
		r = f.do(f.viewer, "GET", list+"?page_size=1&page=2", nil)
		want := `{"id":` + toString(p.ID) + `,"name":"Can add user","codename":"add_user","app_label":"auth","model":"user"}`
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("%s, want %s", r.body, want)
		}
		expect(t, f.do(f.viewer, "GET", list+"?page=99", nil), 404, msgBadPage)
	})
}
