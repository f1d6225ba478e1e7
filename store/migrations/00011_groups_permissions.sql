-- +goose Up
-- Django's permissions and groups (auth.permission, auth.group) and who
-- holds them. A permission keeps its content type's app_label and model
-- instead of a content type id: that pair is how has_perm names it
-- ("app_label.codename") and how a dump written with natural keys refers
-- to it. Deleting a user, group or permission removes the rows that
-- refer to it.
CREATE TABLE auth_permissions (
    id        {{id}},
    name      TEXT NOT NULL,
    app_label TEXT NOT NULL,
    model     TEXT NOT NULL,
    codename  TEXT NOT NULL,
    UNIQUE (app_label, model, codename)
);

CREATE TABLE auth_groups (
    id   {{id}},
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE auth_group_permissions (
    group_id      BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES auth_permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission_id)
);
CREATE INDEX auth_group_permissions_permission ON auth_group_permissions (permission_id);

CREATE TABLE user_groups (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id);

CREATE TABLE user_permissions (
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES auth_permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, permission_id)
);
CREATE INDEX user_permissions_permission ON user_permissions (permission_id);

-- +goose Down
DROP TABLE user_permissions;
DROP TABLE user_groups;
DROP TABLE auth_group_permissions;
DROP TABLE auth_groups;
DROP TABLE auth_permissions;
