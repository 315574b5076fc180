-- agentry metadata, layout 1. Text keys use the "C" collation: listings are in byte order,
-- as the OCI spec's `last` pagination and the embedded store expect.

CREATE TABLE repositories (
    name        text COLLATE "C" PRIMARY KEY,
    created_at  bigint NOT NULL
);

CREATE TABLE manifests (
    repo           text COLLATE "C" NOT NULL,
    digest         text COLLATE "C" NOT NULL,
    media_type     text NOT NULL,
    size           bigint NOT NULL CHECK (size >= 0),
    artifact_type  text,
    subject        text COLLATE "C",
    -- JSON object of string values (ManifestMeta.annotations).
    annotations    text NOT NULL,
    created_at     bigint NOT NULL,
    bytes          bytea NOT NULL,
    PRIMARY KEY (repo, digest),
    FOREIGN KEY (repo) REFERENCES repositories (name)
);
-- The referrers API: manifests of a repository naming a subject, by digest.
CREATE INDEX manifests_by_subject ON manifests (repo, subject, digest) WHERE subject IS NOT NULL;

CREATE TABLE tags (
    repo    text COLLATE "C" NOT NULL,
    tag     text COLLATE "C" NOT NULL,
    digest  text COLLATE "C" NOT NULL,
    PRIMARY KEY (repo, tag),
    FOREIGN KEY (repo, digest) REFERENCES manifests (repo, digest) ON DELETE CASCADE
);
CREATE INDEX tags_by_manifest ON tags (repo, digest);

-- Blobs a manifest references (config, layers): what garbage collection must keep.
CREATE TABLE manifest_blobs (
    blob      text COLLATE "C" NOT NULL,
    repo      text COLLATE "C" NOT NULL,
    manifest  text COLLATE "C" NOT NULL,
    PRIMARY KEY (blob, repo, manifest),
    FOREIGN KEY (repo, manifest) REFERENCES manifests (repo, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_blobs_by_manifest ON manifest_blobs (repo, manifest);

-- Which repository may serve which blob; linked_at (unix seconds) is the GC grace clock.
CREATE TABLE blob_links (
    digest     text COLLATE "C" NOT NULL,
    repo       text COLLATE "C" NOT NULL,
    size       bigint NOT NULL CHECK (size >= 0),
    linked_at  bigint NOT NULL,
    PRIMARY KEY (digest, repo)
);

CREATE TABLE uploads (
    id          text COLLATE "C" PRIMARY KEY,
    repo        text COLLATE "C" NOT NULL,
    started_at  bigint NOT NULL
);
CREATE INDEX uploads_by_start ON uploads (started_at);

-- Agent records as their JSON serialisation, byte for byte (not jsonb: the discovery API
-- answers the stored text as is).
CREATE TABLE records (
    repo      text COLLATE "C" NOT NULL,
    manifest  text COLLATE "C" NOT NULL,
    record    text NOT NULL,
    PRIMARY KEY (repo, manifest),
    FOREIGN KEY (repo, manifest) REFERENCES manifests (repo, digest) ON DELETE CASCADE
);
