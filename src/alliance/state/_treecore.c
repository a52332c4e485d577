/* Compiled lean update path of the state tree (alliance.state.tree).
 *
 * Theory of operation
 * -------------------
 * This module does, in C, exactly what the pure-Python methods _Apply.internal_growing and
 * _Apply.bucket_growing do: apply sorted updates without deletions to a version of the tree,
 * rewriting each internal node and bucket on the updated keys' paths. Two helpers go with it:
 * sorted_items (StateTree.apply's hashing and sorting of a block's updates) and bucket_value (one
 * key's value in a bucket, for reads). The Python code stays the reference: the tests run both on
 * the same updates and require identical node keys, node bytes, decoded nodes, stale lists and
 * roots. Nothing here decides a hash or a layout on its own; it reproduces the ones tree.py
 * documents, over the nodes' flat in-memory form (a Bucket holds `joined` and `encoded`, an
 * Internal holds `encoded`):
 *   node key   = version (8 bytes, big endian) || depth byte || first depth nibbles of key hash
 *   bucket     = "B" || msgpack [[keys...], [values...]]      hash H(STATE_LEAF, kh||vh ...)
 *   internal   = "I" || 16 hashes || 16 x u64 versions || 16 x u32 counts || u16 bucket mask
 *                                                             hash H(STATE_INNER, 16 hashes)
 * Why: at 1M keys a block of 5,000 transfers rewrites ~13,000 nodes, and each cost ~11-16 us of
 * interpreted work against ~4-5 us here, most of it now allocation and cache misses
 * (docs/decisions/006 and 007).
 *
 * What stays in Python, called back through the _Apply object: loading a node that is not in the
 * tree's cache (the store read and decode), a fresh subtree in an empty slot (job.fresh) and a
 * bucket that outgrows the bound (job.build). They are rare on the lean path and keep one
 * implementation of the shape rules. SHA-256 is OpenSSL's, the library Python's hashlib uses:
 * called through its EVP interface when built with its headers (setup.py tries that first; a
 * hash then allocates nothing but its digest, ~14 ms less a block at 1M keys), otherwise through
 * the hashlib objects tree.py prepared. Either way there is no SHA-256 implementation of our own.
 *
 * Safety: the items are copied into a tuple on entry, so a callback cannot change what this code
 * points into; every digest is checked to be 32 bytes; stored bytes are parsed with every length
 * checked against the end. Every object made here is either returned, stored in the job's lists
 * and dict, or released before return, on success and on error alike. No state is kept between
 * calls except the configuration set once at import (node types, sentinel, three hashers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define KEY_HASH_SIZE 32
#define PAIR_SIZE 64
#define SLOTS 16
#define DEPTH_MAX 64
#define INTERNAL_SIZE (1 + SLOTS * 32 + SLOTS * 8 + SLOTS * 4 + 2)

/* Set once by configure (a second call is refused, so these never change under a running call). */
static PyObject *BucketType, *InternalType, *SAME, *LeafHasher, *InnerHasher, *KeyHasher;
static PyObject *s_copy, *s_update, *s_digest, *s_joined, *s_encoded, *s_load_bucket, *s_load_internal, *s_fresh, *s_build,
    *s_version, *s_new_nodes, *s_stale, *s_decoded, *s_bmax;

typedef struct {
    PyObject *job;       /* the _Apply object (borrowed) */
    PyObject *cache;     /* the tree's dict of decoded nodes (borrowed) */
    PyObject *items;     /* a tuple snapshot of the caller's sorted (key hash, hex, key, value) list
                            (owned): whatever a Python callback does to that list, the items and
                            the bytes this code points into stay alive and unchanged */
    PyObject *new_nodes; /* job.new_nodes (owned) */
    PyObject *stale;     /* job.stale (owned) */
    PyObject *decoded;   /* job.decoded (owned) */
    PyObject *version;   /* job.version, an int (owned) */
    uint64_t version_u64;
    Py_ssize_t bmax;
} Ctx;

static inline PyObject *item_at(Ctx *c, Py_ssize_t i) { return PyTuple_GET_ITEM(c->items, i); }

static inline const unsigned char *item_kh(Ctx *c, Py_ssize_t i) {
    return (const unsigned char *)PyBytes_AS_STRING(PyTuple_GET_ITEM(item_at(c, i), 0));
}

static inline int nibble_of(const unsigned char *kh, int depth) {
    unsigned char b = kh[depth >> 1];
    return (depth & 1) ? (b & 0x0F) : (b >> 4);
}

static inline void put_be(unsigned char *p, uint64_t v, int size) {
    for (int i = size - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
}

static PyObject *make_node_key(uint64_t version, const unsigned char *kh, int depth) {
    int half = depth >> 1, odd = depth & 1;
    PyObject *key = PyBytes_FromStringAndSize(NULL, 8 + 1 + half + odd);
    if (key == NULL) return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(key);
    put_be(p, version, 8);
    p[8] = (unsigned char)depth;
    memcpy(p + 9, kh, (size_t)half);
    if (odd) p[9 + half] = kh[half] & 0xF0;
    return key;
}

#ifdef ALLIANCE_TREECORE_OPENSSL
/* The same SHA-256 through OpenSSL's EVP interface directly (the library hashlib uses): each
 * domain's state after its tag is prepared once and copied into one working context per hash, so
 * a hash allocates nothing but its digest. Calls never release the GIL, so one context serves. */
#include <openssl/evp.h>
#define DOMAINS 3
static PyObject *DomainHasher[DOMAINS]; /* borrowed from the configured globals */
static EVP_MD_CTX *DomainCtx[DOMAINS], *WorkCtx;

static int prepare_domain(int i, PyObject *hasher, PyObject *tag) {
    if (!PyBytes_Check(tag)) {
        PyErr_SetString(PyExc_TypeError, "domain tags must be bytes");
        return -1;
    }
    if ((DomainCtx[i] = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(DomainCtx[i], EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(DomainCtx[i], PyBytes_AS_STRING(tag), (size_t)PyBytes_GET_SIZE(tag)) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not prepare SHA-256");
        return -1;
    }
    DomainHasher[i] = hasher;
    return 0;
}
#endif

/* SHA-256 under a prepared domain: hasher.copy(), update(buf), digest(). */
static PyObject *hash_buffer(PyObject *prepared, const char *buf, Py_ssize_t len) {
#ifdef ALLIANCE_TREECORE_OPENSSL
    for (int i = 0; i < DOMAINS; i++) {
        if (DomainHasher[i] == prepared) {
            unsigned char out[EVP_MAX_MD_SIZE];
            unsigned int out_len = 0;
            if (EVP_MD_CTX_copy_ex(WorkCtx, DomainCtx[i]) != 1 || EVP_DigestUpdate(WorkCtx, buf, (size_t)len) != 1 ||
                EVP_DigestFinal_ex(WorkCtx, out, &out_len) != 1 || out_len != 32) {
                PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
                return NULL;
            }
            return PyBytes_FromStringAndSize((const char *)out, 32);
        }
    }
#endif
    PyObject *h = PyObject_CallMethodNoArgs(prepared, s_copy);
    if (h == NULL) return NULL;
    PyObject *view = PyMemoryView_FromMemory((char *)buf, len, PyBUF_READ);
    if (view == NULL) {
        Py_DECREF(h);
        return NULL;
    }
    PyObject *r = PyObject_CallMethodOneArg(h, s_update, view);
    Py_DECREF(view);
    if (r == NULL) {
        Py_DECREF(h);
        return NULL;
    }
    Py_DECREF(r);
    PyObject *digest = PyObject_CallMethodNoArgs(h, s_digest);
    Py_DECREF(h);
    if (digest != NULL && (!PyBytes_CheckExact(digest) || PyBytes_GET_SIZE(digest) != 32)) {
        Py_DECREF(digest);
        PyErr_SetString(PyExc_TypeError, "state tree hasher must give 32-byte digests");
        return NULL;
    }
    return digest;
}

/* A cached node of the expected type, else job.load_bucket/load_internal(key), which reads the
 * store, decodes, caches and checks the type (failing an invariant otherwise). New reference. */
static PyObject *load_node(Ctx *c, PyObject *key, PyObject *type, PyObject *method) {
    PyObject *node = PyDict_GetItemWithError(c->cache, key);
    if (node != NULL && (PyObject *)Py_TYPE(node) == type) {
        Py_INCREF(node);
        return node;
    }
    if (node == NULL && PyErr_Occurred()) return NULL;
    node = PyObject_CallMethodOneArg(c->job, method, key);
    if (node != NULL && (PyObject *)Py_TYPE(node) != type) {
        Py_DECREF(node);
        PyErr_SetString(PyExc_TypeError, "state tree loader returned a node of the wrong kind");
        return NULL;
    }
    return node;
}

/* job.retire(key) compiled: the node goes on the stale list and leaves the cache now, while its
 * entry is hot (the caller still holds its own reference to the node). */
static int retire(Ctx *c, PyObject *key) {
    if (PyList_Append(c->stale, key) < 0) return -1;
    if (PyDict_DelItem(c->cache, key) == 0) return 0;
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) return -1;
    PyErr_Clear(); /* loaded through a cache too small to keep it */
    return 0;
}

static int append_pair(PyObject *list, PyObject *a, PyObject *b) {
    PyObject *t = PyTuple_Pack(2, a, b);
    if (t == NULL) return -1;
    int rc = PyList_Append(list, t);
    Py_DECREF(t);
    return rc;
}

/* Bytes of the written child tuple (hash, version, count, is_bucket) from job.fresh/job.build. */
static int check_written(PyObject *r) {
    if (!PyTuple_CheckExact(r) || PyTuple_GET_SIZE(r) != 4 || !PyBytes_CheckExact(PyTuple_GET_ITEM(r, 0)) ||
        PyBytes_GET_SIZE(PyTuple_GET_ITEM(r, 0)) != 32 || !PyLong_CheckExact(PyTuple_GET_ITEM(r, 1)) ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(r, 2))) {
        PyErr_SetString(PyExc_TypeError, "malformed written state tree child");
        return -1;
    }
    return 0;
}

/* --- a bucket's stored form: "B" || msgpack [[key, ...], [value, ...]], as msgspec encodes tuples */

static Py_ssize_t array_header_size(Py_ssize_t n) { return n < 16 ? 1 : (n < 65536 ? 3 : 5); }

static unsigned char *put_array_header(unsigned char *p, Py_ssize_t n) {
    if (n < 16) {
        *p++ = (unsigned char)(0x90 | n);
    } else if (n < 65536) {
        *p++ = 0xdc;
        put_be(p, (uint64_t)n, 2);
        p += 2;
    } else {
        *p++ = 0xdd;
        put_be(p, (uint64_t)n, 4);
        p += 4;
    }
    return p;
}

static Py_ssize_t bin_header_size(Py_ssize_t len) { return len < 256 ? 2 : (len < 65536 ? 3 : 5); }

static unsigned char *put_bin(unsigned char *p, const char *data, Py_ssize_t len) {
    if (len < 256) {
        *p++ = 0xc4;
        *p++ = (unsigned char)len;
    } else if (len < 65536) {
        *p++ = 0xc5;
        put_be(p, (uint64_t)len, 2);
        p += 2;
    } else {
        *p++ = 0xc6;
        put_be(p, (uint64_t)len, 4);
        p += 4;
    }
    memcpy(p, data, (size_t)len);
    return p + len;
}

static uint64_t get_be(const unsigned char *p, int size) {
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v = (v << 8) | p[i];
    return v;
}

/* Reads an array header at *at (bounded by end); -1 if malformed. */
static Py_ssize_t read_array_header(const unsigned char **at, const unsigned char *end) {
    const unsigned char *p = *at;
    if (p >= end) return -1;
    unsigned char tag = *p++;
    Py_ssize_t n;
    if ((tag & 0xF0) == 0x90) {
        n = tag & 0x0F;
    } else if (tag == 0xdc && end - p >= 2) {
        n = (Py_ssize_t)get_be(p, 2);
        p += 2;
    } else if (tag == 0xdd && end - p >= 4) {
        n = (Py_ssize_t)get_be(p, 4);
        p += 4;
    } else {
        return -1;
    }
    *at = p;
    return n;
}

/* Reads a bin item at *at: its data's offset from base and its length; -1 if malformed. */
static int read_bin(const unsigned char **at, const unsigned char *end, const unsigned char *base, Py_ssize_t *offset,
                    Py_ssize_t *len) {
    const unsigned char *p = *at;
    if (p >= end) return -1;
    unsigned char tag = *p++;
    int size = tag == 0xc4 ? 1 : (tag == 0xc5 ? 2 : (tag == 0xc6 ? 4 : 0));
    if (size == 0 || end - p < size) return -1;
    Py_ssize_t n = (Py_ssize_t)get_be(p, size);
    p += size;
    if (end - p < n) return -1;
    *offset = p - base;
    *len = n;
    *at = p + n;
    return 0;
}

/* One entry of a bucket being rebuilt: an old entry kept or updated, or an update's new key. */
typedef struct {
    Py_ssize_t old;  /* index among the old entries, or -1 for a new key */
    Py_ssize_t item; /* index of the update among the items, or -1 when the old value stays */
    unsigned char vh[32];
} Entry;

/* --- the bucket on the path of items[lo:hi], at depth, written at version --------------------- */

static PyObject *bucket_grow(Ctx *c, uint64_t version, int depth, Py_ssize_t lo, Py_ssize_t hi) {
    PyObject *result = NULL, *old_key = NULL, *node = NULL, *joined = NULL, *encoded = NULL;
    Py_ssize_t *offsets = NULL; /* key offset, key length, value offset, value length per old entry */
    Entry *out = NULL;
    const unsigned char *kh0 = item_kh(c, lo);

    old_key = make_node_key(version, kh0, depth);
    if (old_key == NULL) goto done;
    node = load_node(c, old_key, BucketType, s_load_bucket);
    if (node == NULL) goto done;
    if ((joined = PyObject_GetAttr(node, s_joined)) == NULL || (encoded = PyObject_GetAttr(node, s_encoded)) == NULL)
        goto done;
    if (!PyBytes_CheckExact(joined) || !PyBytes_CheckExact(encoded) || PyBytes_GET_SIZE(joined) % PAIR_SIZE != 0) {
        PyErr_SetString(PyExc_TypeError, "malformed state tree bucket");
        goto done;
    }
    const unsigned char *old_pairs = (const unsigned char *)PyBytes_AS_STRING(joined);
    const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(encoded);
    const unsigned char *end = base + PyBytes_GET_SIZE(encoded), *at = base;
    Py_ssize_t n = PyBytes_GET_SIZE(joined) / PAIR_SIZE;
    offsets = PyMem_Malloc(sizeof(Py_ssize_t) * 4 * (size_t)(n + 1));
    if (offsets == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int ok = PyBytes_GET_SIZE(encoded) >= 2 && base[0] == 'B' && base[1] == 0x92;
    at = base + 2;
    ok = ok && read_array_header(&at, end) == n;
    for (Py_ssize_t i = 0; ok && i < n; i++) ok = read_bin(&at, end, base, &offsets[4 * i], &offsets[4 * i + 1]) == 0;
    ok = ok && read_array_header(&at, end) == n;
    for (Py_ssize_t i = 0; ok && i < n; i++) ok = read_bin(&at, end, base, &offsets[4 * i + 2], &offsets[4 * i + 3]) == 0;
    if (!ok || at != end) {
        PyErr_SetString(PyExc_ValueError, "malformed state tree bucket");
        goto done;
    }

    Py_ssize_t cap = n + (hi - lo), count = 0;
    out = PyMem_Malloc(sizeof(Entry) * (size_t)cap);
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int changed = 0;
    Py_ssize_t i = 0, j = lo;
    while (i < n || j < hi) {
        int cmp = j >= hi ? -1 : (i >= n ? 1 : memcmp(old_pairs + i * PAIR_SIZE, item_kh(c, j), KEY_HASH_SIZE));
        Entry *e = &out[count++];
        if (cmp < 0) { /* an old entry no update touches */
            e->old = i++;
            e->item = -1;
            continue;
        }
        PyObject *value = PyTuple_GET_ITEM(item_at(c, j), 3);
        if (cmp == 0 && offsets[4 * i + 3] == PyBytes_GET_SIZE(value) &&
            memcmp(base + offsets[4 * i + 2], PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value)) == 0) {
            e->old = i++; /* the same value again: the entry stays */
            e->item = -1;
            j++;
            continue;
        }
        PyObject *vh = hash_buffer(LeafHasher, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
        if (vh == NULL) goto done;
        memcpy(e->vh, PyBytes_AS_STRING(vh), 32);
        Py_DECREF(vh);
        e->old = cmp == 0 ? i++ : -1;
        e->item = j++;
        changed = 1;
    }
    if (!changed) {
        Py_INCREF(SAME);
        result = SAME;
        goto done;
    }
    if (retire(c, old_key) < 0) goto done;

    /* The new entries, flat: pairs, and the stored form's size. */
    PyObject *new_joined = PyBytes_FromStringAndSize(NULL, count * PAIR_SIZE);
    if (new_joined == NULL) goto done;
    unsigned char *pj = (unsigned char *)PyBytes_AS_STRING(new_joined);
    Py_ssize_t size = 2 + 2 * array_header_size(count);
    for (Py_ssize_t k = 0; k < count; k++, pj += PAIR_SIZE) {
        Entry *e = &out[k];
        Py_ssize_t key_len, value_len;
        if (e->item < 0) {
            memcpy(pj, old_pairs + e->old * PAIR_SIZE, PAIR_SIZE);
            value_len = offsets[4 * e->old + 3];
        } else {
            memcpy(pj, item_kh(c, e->item), KEY_HASH_SIZE);
            memcpy(pj + KEY_HASH_SIZE, e->vh, 32);
            value_len = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item_at(c, e->item), 3));
        }
        key_len = e->old >= 0 ? offsets[4 * e->old + 1] : PyBytes_GET_SIZE(PyTuple_GET_ITEM(item_at(c, e->item), 2));
        size += bin_header_size(key_len) + key_len + bin_header_size(value_len) + value_len;
    }
    if (count > c->bmax) { /* outgrown: job.build splits it into an internal node, from lists */
        PyObject *lp = NULL, *lk = NULL, *lv = NULL;
        int filled = (lp = PyList_New(count)) != NULL && (lk = PyList_New(count)) != NULL &&
                     (lv = PyList_New(count)) != NULL;
        const char *pairs_at = PyBytes_AS_STRING(new_joined);
        for (Py_ssize_t k = 0; filled && k < count; k++) {
            Entry *e = &out[k];
            PyObject *p = PyBytes_FromStringAndSize(pairs_at + k * PAIR_SIZE, PAIR_SIZE), *key = NULL, *value = NULL;
            if (p != NULL) {
                if (e->old >= 0)
                    key = PyBytes_FromStringAndSize((const char *)base + offsets[4 * e->old], offsets[4 * e->old + 1]);
                else
                    key = Py_NewRef(PyTuple_GET_ITEM(item_at(c, e->item), 2));
            }
            if (key != NULL) {
                if (e->item >= 0)
                    value = Py_NewRef(PyTuple_GET_ITEM(item_at(c, e->item), 3));
                else
                    value = PyBytes_FromStringAndSize((const char *)base + offsets[4 * e->old + 2],
                                                      offsets[4 * e->old + 3]);
            }
            if (value == NULL) {
                Py_XDECREF(p);
                Py_XDECREF(key);
                Py_XDECREF(value);
                filled = 0;
                break;
            }
            PyList_SET_ITEM(lp, k, p);
            PyList_SET_ITEM(lk, k, key);
            PyList_SET_ITEM(lv, k, value);
        }
        if (filled) {
            PyObject *z = NULL, *nn = NULL, *d = NULL;
            if ((z = PyLong_FromLong(0)) != NULL && (nn = PyLong_FromSsize_t(count)) != NULL &&
                (d = PyLong_FromLong(depth)) != NULL) {
                PyObject *args[] = {c->job, lp, lk, lv, z, nn, d};
                result = PyObject_VectorcallMethod(s_build, args, 7, NULL);
                if (result != NULL && check_written(result) < 0) Py_CLEAR(result);
            }
            Py_XDECREF(z);
            Py_XDECREF(nn);
            Py_XDECREF(d);
        }
        Py_XDECREF(lp);
        Py_XDECREF(lk);
        Py_XDECREF(lv);
        Py_DECREF(new_joined);
        goto done;
    }
    PyObject *new_encoded = PyBytes_FromStringAndSize(NULL, size);
    if (new_encoded == NULL) {
        Py_DECREF(new_joined);
        goto done;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(new_encoded);
    *p++ = 'B';
    *p++ = 0x92;
    p = put_array_header(p, count);
    for (Py_ssize_t k = 0; k < count; k++) {
        Entry *e = &out[k];
        if (e->old >= 0) {
            p = put_bin(p, (const char *)base + offsets[4 * e->old], offsets[4 * e->old + 1]);
        } else {
            PyObject *key = PyTuple_GET_ITEM(item_at(c, e->item), 2);
            p = put_bin(p, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key));
        }
    }
    p = put_array_header(p, count);
    for (Py_ssize_t k = 0; k < count; k++) {
        Entry *e = &out[k];
        if (e->item < 0) {
            p = put_bin(p, (const char *)base + offsets[4 * e->old + 2], offsets[4 * e->old + 3]);
        } else {
            PyObject *value = PyTuple_GET_ITEM(item_at(c, e->item), 3);
            p = put_bin(p, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
        }
    }
    {
        PyObject *new_key = NULL, *bucket = NULL, *digest = NULL, *count_obj = NULL;
        if ((new_key = make_node_key(c->version_u64, kh0, depth)) != NULL &&
            append_pair(c->new_nodes, new_key, new_encoded) == 0 &&
            (bucket = PyObject_CallFunctionObjArgs(BucketType, new_joined, new_encoded, NULL)) != NULL &&
            PyDict_SetItem(c->decoded, new_key, bucket) == 0 &&
            (digest = hash_buffer(LeafHasher, PyBytes_AS_STRING(new_joined), count * PAIR_SIZE)) != NULL &&
            (count_obj = PyLong_FromSsize_t(count)) != NULL) {
            result = PyTuple_Pack(4, digest, c->version, count_obj, Py_True);
        }
        Py_XDECREF(new_key);
        Py_XDECREF(bucket);
        Py_XDECREF(digest);
        Py_XDECREF(count_obj);
    }
    Py_DECREF(new_joined);
    Py_DECREF(new_encoded);
done:
    PyMem_Free(offsets);
    PyMem_Free(out);
    Py_XDECREF(old_key);
    Py_XDECREF(node);
    Py_XDECREF(joined);
    Py_XDECREF(encoded);
    return result;
}

/* --- the internal node on the path of items[lo:hi], at depth, written at version --------------- */

#define VERSIONS_AT (1 + SLOTS * 32)
#define COUNTS_AT (VERSIONS_AT + SLOTS * 8)
#define MASK_AT (COUNTS_AT + SLOTS * 4)

static PyObject *internal_grow(Ctx *c, uint64_t version, int depth, Py_ssize_t lo, Py_ssize_t hi) {
    PyObject *result = NULL, *old_key = NULL, *node = NULL, *encoded = NULL, *new_encoded = NULL;
    const unsigned char *kh0 = item_kh(c, lo);

    if (depth >= DEPTH_MAX) {
        PyErr_SetString(PyExc_ValueError, "state tree deeper than a key hash");
        return NULL;
    }
    old_key = make_node_key(version, kh0, depth);
    if (old_key == NULL) goto done;
    node = load_node(c, old_key, InternalType, s_load_internal);
    if (node == NULL) goto done;
    if ((encoded = PyObject_GetAttr(node, s_encoded)) == NULL) goto done;
    if (!PyBytes_CheckExact(encoded) || PyBytes_GET_SIZE(encoded) != INTERNAL_SIZE || PyBytes_AS_STRING(encoded)[0] != 'I') {
        PyErr_SetString(PyExc_TypeError, "malformed state tree internal node");
        goto done;
    }
    /* The new node starts as a copy of the old one; changed slots are patched in place. */
    if ((new_encoded = PyBytes_FromStringAndSize(PyBytes_AS_STRING(encoded), INTERNAL_SIZE)) == NULL) goto done;
    unsigned char *data = (unsigned char *)PyBytes_AS_STRING(new_encoded);
    unsigned int mask = (unsigned int)get_be(data + MASK_AT, 2);
    int changed = 0;
    Py_ssize_t i = lo;
    while (i < hi) {
        int s = nibble_of(item_kh(c, i), depth);
        Py_ssize_t j = i + 1;
        while (j < hi && nibble_of(item_kh(c, j), depth) == s) j++;
        uint64_t child_version = get_be(data + VERSIONS_AT + 8 * s, 8);
        uint64_t child_count = get_be(data + COUNTS_AT + 4 * s, 4);
        PyObject *r;
        if (child_count == 0) { /* new keys into an empty slot: job.fresh */
            PyObject *d = NULL, *a = NULL, *b = NULL;
            r = NULL;
            if ((d = PyLong_FromLong(depth + 1)) != NULL && (a = PyLong_FromSsize_t(i)) != NULL &&
                (b = PyLong_FromSsize_t(j)) != NULL) {
                PyObject *args[] = {c->job, d, c->items, a, b};
                r = PyObject_VectorcallMethod(s_fresh, args, 5, NULL);
            }
            Py_XDECREF(d);
            Py_XDECREF(a);
            Py_XDECREF(b);
            if (r != NULL && r != SAME && check_written(r) < 0) Py_CLEAR(r);
        } else if (mask >> s & 1) {
            r = bucket_grow(c, child_version, depth + 1, i, j);
        } else {
            r = internal_grow(c, child_version, depth + 1, i, j);
        }
        if (r == NULL) goto done;
        if (r != SAME) {
            uint64_t vu = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(r, 1)), nu = 0;
            if (!PyErr_Occurred()) nu = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(r, 2));
            int is_bucket = PyErr_Occurred() ? -1 : PyObject_IsTrue(PyTuple_GET_ITEM(r, 3));
            if (is_bucket < 0 || nu > 0xFFFFFFFFULL) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "a state tree child holds more than 2**32 keys");
                Py_DECREF(r);
                goto done;
            }
            memcpy(data + 1 + 32 * s, PyBytes_AS_STRING(PyTuple_GET_ITEM(r, 0)), 32);
            put_be(data + VERSIONS_AT + 8 * s, vu, 8);
            put_be(data + COUNTS_AT + 4 * s, nu, 4);
            mask = is_bucket ? (mask | (1U << s)) : (mask & ~(1U << s));
            changed = 1;
        }
        Py_DECREF(r);
        i = j;
    }
    if (!changed) {
        Py_INCREF(SAME);
        result = SAME;
        goto done;
    }
    put_be(data + MASK_AT, mask, 2);
    if (retire(c, old_key) < 0) goto done;
    {
        PyObject *new_key = NULL, *internal = NULL, *digest = NULL, *total_obj = NULL;
        uint64_t total = 0;
        for (int s = 0; s < SLOTS; s++) total += get_be(data + COUNTS_AT + 4 * s, 4);
        if ((new_key = make_node_key(c->version_u64, kh0, depth)) != NULL &&
            append_pair(c->new_nodes, new_key, new_encoded) == 0 &&
            (internal = PyObject_CallOneArg(InternalType, new_encoded)) != NULL &&
            PyDict_SetItem(c->decoded, new_key, internal) == 0 &&
            (digest = hash_buffer(InnerHasher, (const char *)data + 1, SLOTS * 32)) != NULL &&
            (total_obj = PyLong_FromUnsignedLongLong(total)) != NULL) {
            result = PyTuple_Pack(4, digest, c->version, total_obj, Py_False);
        }
        Py_XDECREF(new_key);
        Py_XDECREF(internal);
        Py_XDECREF(digest);
        Py_XDECREF(total_obj);
    }
done:
    Py_XDECREF(old_key);
    Py_XDECREF(node);
    Py_XDECREF(encoded);
    Py_XDECREF(new_encoded);
    return result;
}

/* --- the sorted update items ------------------------------------------------------------------ */

typedef struct {
    unsigned char kh[KEY_HASH_SIZE];
    PyObject *key;   /* a strong reference */
    PyObject *value; /* a strong reference; Py_None deletes */
} Update;

static int compare_updates(const void *a, const void *b) {
    return memcmp(((const Update *)a)->kh, ((const Update *)b)->kh, KEY_HASH_SIZE);
}

PyDoc_STRVAR(sorted_items_doc,
             "sorted_items(updates, key_size_max, value_size_max)\n\n"
             "As StateTree.apply's first loop: [(key hash, its hex, key, value or None)] sorted by key\n"
             "hash. None when a key or value is out of bounds or not bytes: the Python loop then\n"
             "raises its own error.");

static PyObject *sorted_items(PyObject *module, PyObject *args) {
    PyObject *updates, *result = NULL;
    Py_ssize_t key_max, value_max;
    if (!PyArg_ParseTuple(args, "O!nn", &PyDict_Type, &updates, &key_max, &value_max)) return NULL;
    if (KeyHasher == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_treecore.configure was not called");
        return NULL;
    }
    Py_ssize_t n = PyDict_GET_SIZE(updates), pos = 0, k = 0;
    Update *all = PyMem_Malloc(sizeof(Update) * (size_t)(n + 1));
    if (all == NULL) return PyErr_NoMemory();
    PyObject *key, *value;
    int out_of_bounds = 0;
    while (PyDict_Next(updates, &pos, &key, &value)) {
        if (k >= n) { /* only if hashing ran code that grew the dict */
            PyErr_SetString(PyExc_RuntimeError, "state updates changed during sorted_items");
            goto done;
        }
        if (!PyBytes_CheckExact(key) || PyBytes_GET_SIZE(key) == 0 || PyBytes_GET_SIZE(key) > key_max ||
            (value != Py_None && (!PyBytes_CheckExact(value) || PyBytes_GET_SIZE(value) > value_max))) {
            out_of_bounds = 1;
            goto done;
        }
        /* Strong references first: hashing may run other code (a collection's finalizers). */
        all[k].key = Py_NewRef(key);
        all[k].value = Py_NewRef(value);
        k++;
        PyObject *kh = hash_buffer(KeyHasher, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key));
        if (kh == NULL) goto done;
        memcpy(all[k - 1].kh, PyBytes_AS_STRING(kh), KEY_HASH_SIZE);
        Py_DECREF(kh);
    }
    qsort(all, (size_t)k, sizeof(Update), compare_updates);
    result = PyList_New(k);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < k; i++) {
        static const char digits[] = "0123456789abcdef";
        PyObject *kh = NULL, *hex = NULL, *item = NULL;
        if ((kh = PyBytes_FromStringAndSize((const char *)all[i].kh, KEY_HASH_SIZE)) == NULL ||
            (hex = PyUnicode_New(2 * KEY_HASH_SIZE, 127)) == NULL || (item = PyTuple_New(4)) == NULL) {
            Py_XDECREF(kh);
            Py_XDECREF(hex);
            Py_CLEAR(result);
            goto done;
        }
        Py_UCS1 *h = PyUnicode_1BYTE_DATA(hex);
        for (int b = 0; b < KEY_HASH_SIZE; b++) {
            h[2 * b] = (Py_UCS1)digits[all[i].kh[b] >> 4];
            h[2 * b + 1] = (Py_UCS1)digits[all[i].kh[b] & 0x0F];
        }
        PyTuple_SET_ITEM(item, 0, kh);
        PyTuple_SET_ITEM(item, 1, hex);
        PyTuple_SET_ITEM(item, 2, Py_NewRef(all[i].key));
        PyTuple_SET_ITEM(item, 3, Py_NewRef(all[i].value));
        PyList_SET_ITEM(result, i, item);
    }
done:
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_DECREF(all[i].key);
        Py_DECREF(all[i].value);
    }
    PyMem_Free(all);
    if (out_of_bounds) Py_RETURN_NONE;
    return result;
}

/* --- reading one key of a bucket --------------------------------------------------------------- */

PyDoc_STRVAR(bucket_value_doc,
             "bucket_value(joined, encoded, key_hash)\n\n"
             "The value stored under key_hash in a flat bucket (its joined entries and stored bytes),\n"
             "or None: a binary search over the entries, then a walk over the stored headers.");

static PyObject *bucket_value(PyObject *module, PyObject *args) {
    const unsigned char *joined, *encoded, *kh;
    Py_ssize_t joined_len, encoded_len, kh_len;
    if (!PyArg_ParseTuple(args, "y#y#y#", &joined, &joined_len, &encoded, &encoded_len, &kh, &kh_len)) return NULL;
    if (kh_len != KEY_HASH_SIZE || joined_len % PAIR_SIZE != 0) {
        PyErr_SetString(PyExc_ValueError, "bucket_value: a 32-byte key hash and 64-byte entries expected");
        return NULL;
    }
    Py_ssize_t n = joined_len / PAIR_SIZE, lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (memcmp(joined + mid * PAIR_SIZE, kh, KEY_HASH_SIZE) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= n || memcmp(joined + lo * PAIR_SIZE, kh, KEY_HASH_SIZE) != 0) Py_RETURN_NONE;
    const unsigned char *end = encoded + encoded_len, *at = encoded;
    Py_ssize_t offset = 0, len = 0, value_offset = 0, value_len = 0;
    int ok = encoded_len >= 2 && encoded[0] == 'B' && encoded[1] == 0x92;
    at = encoded + 2;
    ok = ok && read_array_header(&at, end) == n;
    for (Py_ssize_t i = 0; ok && i < n; i++) ok = read_bin(&at, end, encoded, &offset, &len) == 0; /* keys */
    ok = ok && read_array_header(&at, end) == n;
    for (Py_ssize_t i = 0; ok && i < n; i++) { /* values: the whole node is checked, as a decode would */
        ok = read_bin(&at, end, encoded, &offset, &len) == 0;
        if (i == lo) {
            value_offset = offset;
            value_len = len;
        }
    }
    if (!ok || at != end) {
        PyErr_SetString(PyExc_ValueError, "malformed state tree bucket");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)encoded + value_offset, value_len);
}

/* --- module functions ---------------------------------------------------------------------- */

PyDoc_STRVAR(configure_doc,
             "configure(bucket_type, internal_type, same, leaf_hasher, inner_hasher, key_hasher)\n\n"
             "Set the node types, the unchanged sentinel and the prepared hashers, once (at import).");

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *b, *in, *same, *leaf, *inner, *key, *leaf_tag, *inner_tag, *key_tag;
    if (!PyArg_ParseTuple(args, "OOOOOOSSS", &b, &in, &same, &leaf, &inner, &key, &leaf_tag, &inner_tag, &key_tag))
        return NULL;
    if (BucketType != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_treecore is configured once");
        return NULL;
    }
#ifdef ALLIANCE_TREECORE_OPENSSL
    if ((WorkCtx = EVP_MD_CTX_new()) == NULL) return PyErr_NoMemory();
    if (prepare_domain(0, leaf, leaf_tag) < 0 || prepare_domain(1, inner, inner_tag) < 0 ||
        prepare_domain(2, key, key_tag) < 0)
        return NULL;
#else
    (void)leaf_tag, (void)inner_tag, (void)key_tag;
#endif
    if (!PyType_Check(b) || !PyType_Check(in)) {
        PyErr_SetString(PyExc_TypeError, "node types expected");
        return NULL;
    }
    Py_INCREF(key);
    Py_XSETREF(KeyHasher, key);
    Py_INCREF(b);
    Py_XSETREF(BucketType, b);
    Py_INCREF(in);
    Py_XSETREF(InternalType, in);
    Py_INCREF(same);
    Py_XSETREF(SAME, same);
    Py_INCREF(leaf);
    Py_XSETREF(LeafHasher, leaf);
    Py_INCREF(inner);
    Py_XSETREF(InnerHasher, inner);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(internal_growing_doc,
             "internal_growing(job, cache, old, depth, items, lo, hi)\n\n"
             "As _Apply.internal_growing: the new content of the internal node ``old`` (a written\n"
             "child tuple) after ``items[lo:hi]`` (no deletions), or the unchanged sentinel.");

static PyObject *internal_growing(PyObject *module, PyObject *args) {
    PyObject *job, *cache, *old, *items_list, *items = NULL, *bmax_obj = NULL, *result = NULL;
    int depth;
    Py_ssize_t lo, hi;
    Ctx c = {0};
    if (!PyArg_ParseTuple(args, "OO!O!iO!nn", &job, &PyDict_Type, &cache, &PyTuple_Type, &old, &depth, &PyList_Type,
                          &items_list, &lo, &hi))
        return NULL;
    if (BucketType == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_treecore.configure was not called");
        return NULL;
    }
    if (PyTuple_GET_SIZE(old) != 4 || lo < 0 || hi > PyList_GET_SIZE(items_list) || lo >= hi || depth < 0 ||
        depth >= DEPTH_MAX) {
        PyErr_SetString(PyExc_ValueError, "internal_growing: bad arguments");
        return NULL;
    }
    if ((items = PyList_AsTuple(items_list)) == NULL) return NULL;
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 4 || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 0)) ||
            PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0)) != KEY_HASH_SIZE || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 2)) ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 3))) {
            PyErr_SetString(PyExc_TypeError, "internal_growing: items must be (key hash, hex, key, value bytes)");
            goto done;
        }
        if (i > lo && memcmp(PyBytes_AS_STRING(PyTuple_GET_ITEM(PyTuple_GET_ITEM(items, i - 1), 0)),
                             PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 0)), KEY_HASH_SIZE) >= 0) {
            PyErr_SetString(PyExc_ValueError, "internal_growing: items must be sorted by key hash, without repeats");
            goto done;
        }
    }
    uint64_t old_version = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(old, 1));
    if (PyErr_Occurred()) goto done;
    c.job = job;
    c.cache = cache;
    c.items = items;
    if ((c.new_nodes = PyObject_GetAttr(job, s_new_nodes)) == NULL || (c.stale = PyObject_GetAttr(job, s_stale)) == NULL ||
        (c.decoded = PyObject_GetAttr(job, s_decoded)) == NULL || (c.version = PyObject_GetAttr(job, s_version)) == NULL ||
        (bmax_obj = PyObject_GetAttr(job, s_bmax)) == NULL)
        goto done;
    if (!PyList_CheckExact(c.new_nodes) || !PyList_CheckExact(c.stale) || !PyDict_CheckExact(c.decoded) ||
        !PyLong_CheckExact(c.version)) {
        PyErr_SetString(PyExc_TypeError, "internal_growing: malformed job");
        goto done;
    }
    c.version_u64 = PyLong_AsUnsignedLongLong(c.version);
    if (PyErr_Occurred()) goto done;
    c.bmax = PyLong_AsSsize_t(bmax_obj);
    if (PyErr_Occurred()) goto done;
    result = internal_grow(&c, old_version, depth, lo, hi);
done:
    Py_XDECREF(items);
    Py_XDECREF(c.new_nodes);
    Py_XDECREF(c.stale);
    Py_XDECREF(c.decoded);
    Py_XDECREF(c.version);
    Py_XDECREF(bmax_obj);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"internal_growing", internal_growing, METH_VARARGS, internal_growing_doc},
    {"sorted_items", sorted_items, METH_VARARGS, sorted_items_doc},
    {"bucket_value", bucket_value, METH_VARARGS, bucket_value_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_treecore", "Compiled lean update path of alliance.state.tree.", -1, methods,
};

#define INTERN(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL

PyMODINIT_FUNC PyInit__treecore(void) {
    INTERN(s_copy, "copy");
    INTERN(s_update, "update");
    INTERN(s_digest, "digest");
    INTERN(s_joined, "joined");
    INTERN(s_encoded, "encoded");
    INTERN(s_load_bucket, "load_bucket");
    INTERN(s_load_internal, "load_internal");
    INTERN(s_fresh, "fresh");
    INTERN(s_build, "build");
    INTERN(s_version, "version");
    INTERN(s_new_nodes, "new_nodes");
    INTERN(s_stale, "stale");
    INTERN(s_decoded, "decoded");
    INTERN(s_bmax, "bmax");
    PyObject *module = PyModule_Create(&module_def);
#ifdef ALLIANCE_TREECORE_OPENSSL
    int openssl = 1;
#else
    int openssl = 0;
#endif
    if (module != NULL && PyModule_AddObjectRef(module, "OPENSSL", openssl ? Py_True : Py_False) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
