package postgres

// migrations[n-1] is the SQL of schema version n (see store/migrate.Names).
// Append only: a released step is never edited.
var migrations = []string{
	// 1: accounts, inventory folders, regions, terrain, objects.
	`
CREATE TABLE accounts (
	id         uuid        NOT NULL PRIMARY KEY,
	first      text        NOT NULL,
	last       text        NOT NULL,
	first_fold text COLLATE "C" NOT NULL,
	last_fold  text COLLATE "C" NOT NULL,
	password   text        NOT NULL,
	created    timestamptz NOT NULL,
	UNIQUE (first_fold, last_fold)
);

CREATE TABLE inventory_folders (
	id      uuid     NOT NULL PRIMARY KEY,
	owner   uuid     NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	parent  uuid     REFERENCES inventory_folders (id) ON DELETE CASCADE,
	name    text COLLATE "C" NOT NULL,
	type    smallint NOT NULL,
	version integer  NOT NULL
);
CREATE INDEX inventory_folders_owner ON inventory_folders (owner);
CREATE INDEX inventory_folders_parent ON inventory_folders (parent);
CREATE UNIQUE INDEX inventory_folders_root ON inventory_folders (owner) WHERE parent IS NULL;

CREATE TABLE regions (
	id        uuid        NOT NULL PRIMARY KEY,
	name      text        NOT NULL,
	name_fold text COLLATE "C" NOT NULL UNIQUE,
	grid_x    bigint      NOT NULL,
	grid_y    bigint      NOT NULL,
	size_x    bigint      NOT NULL,
	size_y    bigint      NOT NULL,
	created   timestamptz NOT NULL
);

CREATE TABLE terrain (
	region  uuid    NOT NULL PRIMARY KEY REFERENCES regions (id) ON DELETE CASCADE,
	width   integer NOT NULL,
	height  integer NOT NULL,
	heights bytea   NOT NULL
);

CREATE TABLE objects (
	id                 uuid     NOT NULL PRIMARY KEY,
	region             uuid     NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	local_id           bigint   NOT NULL,
	parent             uuid,
	pcode              smallint NOT NULL,
	material           smallint NOT NULL,
	click_action       smallint NOT NULL,
	state              smallint NOT NULL,
	scale_x            real     NOT NULL,
	scale_y            real     NOT NULL,
	scale_z            real     NOT NULL,
	pos_x              real     NOT NULL,
	pos_y              real     NOT NULL,
	pos_z              real     NOT NULL,
	rot_x              real     NOT NULL,
	rot_y              real     NOT NULL,
	rot_z              real     NOT NULL,
	rot_w              real     NOT NULL,
	path_curve         smallint NOT NULL,
	profile_curve      smallint NOT NULL,
	path_begin         integer  NOT NULL,
	path_end           integer  NOT NULL,
	path_scale_x       smallint NOT NULL,
	path_scale_y       smallint NOT NULL,
	path_shear_x       smallint NOT NULL,
	path_shear_y       smallint NOT NULL,
	path_twist         smallint NOT NULL,
	path_twist_begin   smallint NOT NULL,
	path_radius_offset smallint NOT NULL,
	path_taper_x       smallint NOT NULL,
	path_taper_y       smallint NOT NULL,
	path_revolutions   smallint NOT NULL,
	path_skew          smallint NOT NULL,
	profile_begin      integer  NOT NULL,
	profile_end        integer  NOT NULL,
	profile_hollow     integer  NOT NULL,
	texture_entry      bytea    NOT NULL,
	extra_params       bytea    NOT NULL,
	name               text     NOT NULL,
	description        text     NOT NULL,
	text               text     NOT NULL,
	text_color         bytea    NOT NULL CHECK (length(text_color) = 4),
	owner              uuid     NOT NULL,
	creator            uuid     NOT NULL,
	flags              bigint   NOT NULL,
	UNIQUE (region, local_id)
);
`,
	// 2: region hosts, pending circuits, agent locations.
	`
CREATE TABLE region_hosts (
	region     uuid        NOT NULL PRIMARY KEY REFERENCES regions (id) ON DELETE CASCADE,
	instance   uuid        NOT NULL,
	sim_ip     text        NOT NULL,
	sim_port   integer     NOT NULL,
	http_base  text        NOT NULL,
	started    timestamptz NOT NULL,
	heartbeat  timestamptz NOT NULL
);

CREATE TABLE pending_circuits (
	region         uuid        NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	code           bigint      NOT NULL,
	agent          uuid        NOT NULL,
	session        uuid        NOT NULL,
	secure_session uuid        NOT NULL,
	first          text        NOT NULL,
	last           text        NOT NULL,
	start          text        NOT NULL,
	client_addr    text        NOT NULL,
	expiry         timestamptz NOT NULL,
	created        timestamptz NOT NULL,
	answer         text,
	PRIMARY KEY (region, code)
);

CREATE TABLE agent_locations (
	agent   uuid        NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	region  uuid        NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	pos_x   real        NOT NULL,
	pos_y   real        NOT NULL,
	pos_z   real        NOT NULL,
	updated timestamptz NOT NULL
);
`,
	// 3: instant messages kept for offline accounts.
	`
CREATE TABLE offline_messages (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id        uuid        NOT NULL,
	recipient uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	sender    uuid        NOT NULL,
	from_name text        NOT NULL,
	dialog    smallint    NOT NULL,
	text      text        NOT NULL,
	bucket    bytea       NOT NULL,
	region    uuid        NOT NULL,
	pos_x     real        NOT NULL,
	pos_y     real        NOT NULL,
	pos_z     real        NOT NULL,
	sent      timestamptz NOT NULL
);
CREATE INDEX offline_messages_recipient ON offline_messages (recipient, seq);
`,
	// 4: the grid's secret, agent presence.
	`
CREATE TABLE grid_secret (
	id      integer     NOT NULL PRIMARY KEY CHECK (id = 1),
	secret  bytea       NOT NULL CHECK (length(secret) = 32),
	created timestamptz NOT NULL
);

CREATE TABLE agent_presence (
	agent   uuid        NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	session uuid        NOT NULL,
	region  uuid        NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	updated timestamptz NOT NULL
);
CREATE INDEX agent_presence_region ON agent_presence (region);
`,
	// 5: agent homes.
	`
CREATE TABLE agent_homes (
	agent   uuid        NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	region  uuid        NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	pos_x   real        NOT NULL,
	pos_y   real        NOT NULL,
	pos_z   real        NOT NULL,
	look_x  real        NOT NULL,
	look_y  real        NOT NULL,
	look_z  real        NOT NULL,
	updated timestamptz NOT NULL
);
`,
}
