"""request.user and request.auth for a credential gatehouse vouched for."""


class GroupNames:
    """The user's groups by name, standing in for Django's user.groups
    manager in the calls views make of it: all(), filter(name=...,
    name__in=...), exists(), count(), values_list("name", flat=True),
    iteration (names) and membership."""

    def __init__(self, names):
        self._names = tuple(names)

    def all(self):
        return GroupNames(self._names)

    def filter(self, name=None, name__in=None):
        names = self._names
        if name is not None:
            names = tuple(n for n in names if n == name)
        if name__in is not None:
            wanted = set(name__in)
            names = tuple(n for n in names if n in wanted)
        return GroupNames(names)

    def exists(self):
        return bool(self._names)

    def count(self):
        return len(self._names)

    def values_list(self, field="name", flat=False):
        if field != "name":
            raise ValueError("gatehouse tells only the groups' names")
        return list(self._names) if flat else [(n,) for n in self._names]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __contains__(self, name):
        return name in self._names

    def __repr__(self):
        return "<GroupNames %r>" % (list(self._names),)


class GatehouseUser:
    """A gatehouse user as Django's auth code sees a user: id and pk,
    username, email, first_name and last_name, is_staff, is_superuser,
    is_active, is_authenticated, groups, permissions, and has_perm / has_perms /
    has_module_perms with ModelBackend's rules (an active superuser holds
    every permission; object permissions are never held).

    Fields the credential did not carry (a JWT names only its user) are
    fetched once, on first read, by the loaders given: identity (username,
    email, staff flags, groups, permissions) by introspection, profile
    (first and last name) from gatehouse's /api/me/. It is not a model:
    save() and delete() refuse."""

    is_active = True
    is_authenticated = True
    is_anonymous = False

    _IDENTITY = ("username", "email", "is_staff", "is_superuser", "_groups", "_permissions")
    _PROFILE = ("first_name", "last_name")

    def __init__(self, user_id, fields=None, load_identity=None, load_profile=None):
        self.id = self.pk = user_id
        self._load_identity = load_identity
        self._load_profile = load_profile
        for k, v in (fields or {}).items():
            setattr(self, k, v)

    def __getattr__(self, name):
        # Called only for attributes not set yet: fetch them once.
        if name in self._IDENTITY and self.__dict__.get("_load_identity") is not None:
            loader, self._load_identity = self._load_identity, None
            for k, v in loader().items():
                if k not in self.__dict__:
                    setattr(self, k, v)
            return getattr(self, name)
        if name in self._PROFILE and self.__dict__.get("_load_profile") is not None:
            loader, self._load_profile = self._load_profile, None
            for k, v in loader().items():
                self.__dict__.setdefault(k, v)
            return getattr(self, name)
        raise AttributeError("%s has no %r: gatehouse does not tell it (USER='local' gives the project's user row)" % (type(self).__name__, name))

    @property
    def groups(self):
        return GroupNames(self._groups)

    @property
    def permissions(self):
        """The permissions gatehouse lists ("app_label.codename"; all of
        them for an active superuser), as a frozenset."""
        return frozenset(self._permissions)

    def get_username(self):
        return self.username

    def natural_key(self):
        return (self.username,)

    def get_full_name(self):
        return ("%s %s" % (self.first_name, self.last_name)).strip()

    def get_short_name(self):
        return self.first_name

    def get_user_permissions(self, obj=None):
        return set() if obj is not None else set(self._permissions)

    def get_group_permissions(self, obj=None):
        # gatehouse answers the union; it is reported as the user's own.
        return set()

    def get_all_permissions(self, obj=None):
        return set() if obj is not None else set(self._permissions)

    def has_perm(self, perm, obj=None):
        if self.is_superuser:
            return True
        return obj is None and perm in self._permissions

    def has_perms(self, perm_list, obj=None):
        return all(self.has_perm(p, obj) for p in perm_list)

    def has_module_perms(self, app_label):
        if self.is_superuser:
            return True
        return any(p.startswith(app_label + ".") for p in self._permissions)

    def save(self, *args, **kwargs):
        raise NotImplementedError("a gatehouse user is not stored in this project (USER='local' gives the project's user row)")

    def delete(self, *args, **kwargs):
        raise NotImplementedError("a gatehouse user is not stored in this project")

    def __str__(self):
        return self.username

    def __repr__(self):
        return "<GatehouseUser id=%r>" % (self.id,)

    def __eq__(self, other):
        return isinstance(other, GatehouseUser) and other.id == self.id

    def __hash__(self):
        return hash(("gatehouse", self.id))


class GatehouseToken:
    """request.auth: what gatehouse said of the credential, never the
    credential itself. kind is "token", "knox", "jwt" or "oauth";
    token_type "Token" or "Bearer". For OAuth tokens scope, scopes and
    client_id are set, with DOT's AccessToken methods is_valid,
    allow_scopes and is_expired; claims is a locally verified JWT's
    payload."""

    def __init__(self, kind, token_type, user_id=None, scope="", client_id="", exp=None, iat=None, claims=None, clock=None):
        self.kind = kind
        self.token_type = token_type
        self.user_id = user_id
        self.scope = scope or ""
        self.scopes = frozenset(self.scope.split())
        self.client_id = client_id or ""
        self.exp = exp
        self.iat = iat
        self.claims = claims
        self._clock = clock

    def is_expired(self):
        return self.exp is not None and self._clock is not None and self.exp <= self._clock()

    def allow_scopes(self, scopes):
        """Whether the token holds every one of scopes (DOT's allow_scopes:
        none required is allowed)."""
        if not scopes:
            return True
        return set(scopes).issubset(self.scopes)

    def is_valid(self, scopes=None):
        return not self.is_expired() and self.allow_scopes(scopes)

    def __repr__(self):
        return "<GatehouseToken kind=%s user_id=%r client_id=%r>" % (self.kind, self.user_id, self.client_id)
