/* Compiled lean update path of the state tree (alliance.state.tree).
 *
 * Theory of operation
 * -------------------
 * This module does, in C, exactly what the pure-Python methods _Apply.internal_growing and
 * _Apply.bucket_growing do: apply sorted updates without deletions to a version of the tree,
 * rewriting each internal node and bucket on the updated keys' paths. The Python code stays the
 * reference: the tests run both on the same updates and require identical node keys, node bytes,
 * decoded nodes, stale lists and roots. Nothing here decides a hash or a layout on its own; it
 * reproduces the ones tree.py documents:
 *   node key   = version (8 bytes, big endian) || depth byte || first depth nibbles of key hash
 *   bucket     = "B" || msgpack [[keys...], [values...]]      hash H(STATE_LEAF, kh||vh ...)
 *   internal   = "I" || 16 hashes || 16 x u64 versions || 16 x u32 counts || u16 bucket mask
 *                                                             hash H(STATE_INNER, 16 hashes)
 * Why: at 1M keys a block of 5,000 transfers rewrites ~13,000 nodes, and each costs ~11-16 us of
 * interpreted work against ~2-3 us here (docs/decisions/006).
 *
 * What stays in Python, called back through the _Apply object: loading a node that is not in the
 * tree's cache (the store read and decode), a fresh subtree in an empty slot (job.fresh) and a
 * bucket that outgrows the bound (job.build). They are rare on the lean path and keep one
 * implementation of the shape rules. Hashing goes through the hashlib objects tree.py prepared
 * (OpenSSL, with the domain tag already fed), so no second SHA-256 implementation exists.
 *
 * Memory: every object made here is either returned, stored in the job's lists and dict, or
 * released before return, on success and on error alike. No state is kept between calls except
 * the configuration set once at import (the node types, the sentinel and the two hashers).
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

static PyObject *BucketType, *InternalType, *SAME, *LeafHasher, *InnerHasher;
static PyObject *s_copy, *s_update, *s_digest, *s_pairs, *s_keys, *s_values, *s_hashes, *s_versions,
    *s_counts, *s_bucket_mask, *s_load_bucket, *s_load_internal, *s_fresh, *s_build,
    *s_version, *s_new_nodes, *s_stale, *s_decoded, *s_bmax;

typedef struct {
    PyObject *job;       /* the _Apply object (borrowed) */
    PyObject *cache;     /* the tree's dict of decoded nodes (borrowed) */
    PyObject *items;     /* list of (key hash, hex, key, value), sorted (borrowed) */
    PyObject *new_nodes; /* job.new_nodes (owned) */
    PyObject *stale;     /* job.stale (owned) */
    PyObject *decoded;   /* job.decoded (owned) */
    PyObject *version;   /* job.version, an int (owned) */
    uint64_t version_u64;
    Py_ssize_t bmax;
} Ctx;

static inline PyObject *item_at(Ctx *c, Py_ssize_t i) { return PyList_GET_ITEM(c->items, i); }

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

/* SHA-256 under a prepared domain: hasher.copy(), update(buf), digest(). */
static PyObject *hash_buffer(PyObject *prepared, const char *buf, Py_ssize_t len) {
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

static PyObject *tuple_attr(PyObject *obj, PyObject *name, Py_ssize_t size_required) {
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) return NULL;
    if (!PyTuple_CheckExact(value) || (size_required >= 0 && PyTuple_GET_SIZE(value) != size_required)) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "malformed state tree node");
        return NULL;
    }
    return value;
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

/* --- msgpack of a bucket's payload: [[key, ...], [value, ...]] as msgspec encodes tuples --- */

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

static Py_ssize_t bin_size(Py_ssize_t len) { return len + (len < 256 ? 2 : (len < 65536 ? 3 : 5)); }

static unsigned char *put_bin(unsigned char *p, PyObject *b) {
    Py_ssize_t len = PyBytes_GET_SIZE(b);
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
    memcpy(p, PyBytes_AS_STRING(b), (size_t)len);
    return p + len;
}

static PyObject *encode_bucket(PyObject **keys, PyObject **values, Py_ssize_t n) {
    Py_ssize_t size = 1 + 1 + 2 * array_header_size(n);
    for (Py_ssize_t i = 0; i < n; i++) size += bin_size(PyBytes_GET_SIZE(keys[i])) + bin_size(PyBytes_GET_SIZE(values[i]));
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    *p++ = 'B';
    *p++ = 0x92;
    p = put_array_header(p, n);
    for (Py_ssize_t i = 0; i < n; i++) p = put_bin(p, keys[i]);
    p = put_array_header(p, n);
    for (Py_ssize_t i = 0; i < n; i++) p = put_bin(p, values[i]);
    return out;
}

static PyObject *tuple_of(PyObject **objs, Py_ssize_t n) {
    PyObject *t = PyTuple_New(n);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(objs[i]);
        PyTuple_SET_ITEM(t, i, objs[i]);
    }
    return t;
}

static PyObject *list_of(PyObject **objs, Py_ssize_t n) {
    PyObject *l = PyList_New(n);
    if (l == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(objs[i]);
        PyList_SET_ITEM(l, i, objs[i]);
    }
    return l;
}

/* kh || H(STATE_LEAF, value): a bucket entry. */
static PyObject *make_pair(const unsigned char *kh, PyObject *value) {
    PyObject *vh = hash_buffer(LeafHasher, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    if (vh == NULL) return NULL;
    PyObject *pair = PyBytes_FromStringAndSize(NULL, PAIR_SIZE);
    if (pair != NULL) {
        memcpy(PyBytes_AS_STRING(pair), kh, KEY_HASH_SIZE);
        memcpy(PyBytes_AS_STRING(pair) + KEY_HASH_SIZE, PyBytes_AS_STRING(vh), 32);
    }
    Py_DECREF(vh);
    return pair;
}

/* --- the bucket on the path of items[lo:hi], at depth, written at version --------------------- */

static PyObject *bucket_grow(Ctx *c, uint64_t version, int depth, Py_ssize_t lo, Py_ssize_t hi) {
    PyObject *result = NULL, *old_key = NULL, *node = NULL, *pairs = NULL, *keys = NULL, *values = NULL;
    PyObject **out = NULL; /* 3 x cap: pairs, keys, values (borrowed, except new pairs) */
    unsigned char *owned = NULL;
    Py_ssize_t count = 0, cap = 0;
    const unsigned char *kh0 = item_kh(c, lo);

    old_key = make_node_key(version, kh0, depth);
    if (old_key == NULL) goto done;
    node = load_node(c, old_key, BucketType, s_load_bucket);
    if (node == NULL) goto done;
    if ((pairs = tuple_attr(node, s_pairs, -1)) == NULL) goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(pairs);
    if ((keys = tuple_attr(node, s_keys, n)) == NULL || (values = tuple_attr(node, s_values, n)) == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyTuple_GET_ITEM(pairs, i);
        if (!PyBytes_CheckExact(p) || PyBytes_GET_SIZE(p) != PAIR_SIZE || !PyBytes_CheckExact(PyTuple_GET_ITEM(keys, i)) ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(values, i))) {
            PyErr_SetString(PyExc_TypeError, "malformed state tree bucket");
            goto done;
        }
    }
    cap = n + (hi - lo);
    out = PyMem_Malloc(sizeof(PyObject *) * 3 * (size_t)cap);
    owned = PyMem_Calloc((size_t)cap, 1);
    if (out == NULL || owned == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject **out_pairs = out, **out_keys = out + cap, **out_values = out + 2 * cap;
    int changed = 0;
    Py_ssize_t i = 0, j = lo;
    while (i < n || j < hi) {
        int cmp;
        if (j >= hi) {
            cmp = -1;
        } else if (i >= n) {
            cmp = 1;
        } else {
            cmp = memcmp(PyBytes_AS_STRING(PyTuple_GET_ITEM(pairs, i)), item_kh(c, j), KEY_HASH_SIZE);
        }
        if (cmp < 0) { /* an old entry no update touches */
            out_pairs[count] = PyTuple_GET_ITEM(pairs, i);
            out_keys[count] = PyTuple_GET_ITEM(keys, i);
            out_values[count] = PyTuple_GET_ITEM(values, i);
            count++;
            i++;
            continue;
        }
        PyObject *item = item_at(c, j);
        PyObject *value = PyTuple_GET_ITEM(item, 3);
        if (cmp == 0) {
            PyObject *old_value = PyTuple_GET_ITEM(values, i);
            if (PyBytes_GET_SIZE(old_value) == PyBytes_GET_SIZE(value) &&
                memcmp(PyBytes_AS_STRING(old_value), PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value)) == 0) {
                out_pairs[count] = PyTuple_GET_ITEM(pairs, i); /* same value: the entry stays */
                out_values[count] = old_value;
            } else {
                if ((out_pairs[count] = make_pair(item_kh(c, j), value)) == NULL) goto done;
                owned[count] = 1;
                out_values[count] = value;
                changed = 1;
            }
            out_keys[count] = PyTuple_GET_ITEM(keys, i); /* the stored key object is kept */
            i++;
        } else { /* a new key */
            if ((out_pairs[count] = make_pair(item_kh(c, j), value)) == NULL) goto done;
            owned[count] = 1;
            out_keys[count] = PyTuple_GET_ITEM(item, 2);
            out_values[count] = value;
            changed = 1;
        }
        count++;
        j++;
    }
    if (!changed) {
        Py_INCREF(SAME);
        result = SAME;
        goto done;
    }
    if (PyList_Append(c->stale, old_key) < 0) goto done;
    if (count > c->bmax) { /* outgrown: job.build splits it into an internal node */
        PyObject *lp = list_of(out_pairs, count), *lk = list_of(out_keys, count), *lv = list_of(out_values, count);
        if (lp != NULL && lk != NULL && lv != NULL) {
            PyObject *args[] = {c->job, lp, lk, lv, PyLong_FromLong(0), PyLong_FromSsize_t(count), PyLong_FromLong(depth)};
            if (args[4] != NULL && args[5] != NULL && args[6] != NULL) {
                result = PyObject_VectorcallMethod(s_build, args, 7, NULL);
                if (result != NULL && check_written(result) < 0) Py_CLEAR(result);
            }
            Py_XDECREF(args[4]);
            Py_XDECREF(args[5]);
            Py_XDECREF(args[6]);
        }
        Py_XDECREF(lp);
        Py_XDECREF(lk);
        Py_XDECREF(lv);
        goto done;
    }
    {
        PyObject *new_key = NULL, *encoded = NULL, *tp = NULL, *tk = NULL, *tv = NULL, *bucket = NULL, *digest = NULL,
                 *count_obj = NULL;
        char *joined = PyMem_Malloc((size_t)count * PAIR_SIZE);
        if (joined == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t k = 0; k < count; k++) memcpy(joined + k * PAIR_SIZE, PyBytes_AS_STRING(out_pairs[k]), PAIR_SIZE);
        if ((new_key = make_node_key(c->version_u64, kh0, depth)) != NULL &&
            (encoded = encode_bucket(out_keys, out_values, count)) != NULL && append_pair(c->new_nodes, new_key, encoded) == 0 &&
            (tp = tuple_of(out_pairs, count)) != NULL && (tk = tuple_of(out_keys, count)) != NULL &&
            (tv = tuple_of(out_values, count)) != NULL &&
            (bucket = PyObject_CallFunctionObjArgs(BucketType, tp, tk, tv, NULL)) != NULL &&
            PyDict_SetItem(c->decoded, new_key, bucket) == 0 &&
            (digest = hash_buffer(LeafHasher, joined, count * PAIR_SIZE)) != NULL &&
            (count_obj = PyLong_FromSsize_t(count)) != NULL) {
            result = PyTuple_Pack(4, digest, c->version, count_obj, Py_True);
        }
        PyMem_Free(joined);
        Py_XDECREF(new_key);
        Py_XDECREF(encoded);
        Py_XDECREF(tp);
        Py_XDECREF(tk);
        Py_XDECREF(tv);
        Py_XDECREF(bucket);
        Py_XDECREF(digest);
        Py_XDECREF(count_obj);
    }
done:
    if (owned != NULL) {
        for (Py_ssize_t k = 0; k < count; k++)
            if (owned[k]) Py_DECREF(out[k]);
    }
    PyMem_Free(out);
    PyMem_Free(owned);
    Py_XDECREF(old_key);
    Py_XDECREF(node);
    Py_XDECREF(pairs);
    Py_XDECREF(keys);
    Py_XDECREF(values);
    return result;
}

/* --- the internal node on the path of items[lo:hi], at depth, written at version --------------- */

static PyObject *internal_grow(Ctx *c, uint64_t version, int depth, Py_ssize_t lo, Py_ssize_t hi) {
    PyObject *result = NULL, *old_key = NULL, *node = NULL, *hashes_t = NULL, *versions_t = NULL, *counts_t = NULL,
             *mask_obj = NULL;
    PyObject *hashes[SLOTS], *versions[SLOTS], *counts[SLOTS]; /* owned references */
    uint64_t version_of[SLOTS], count_of[SLOTS];
    int filled = 0;
    const unsigned char *kh0 = item_kh(c, lo);

    if (depth >= DEPTH_MAX) {
        PyErr_SetString(PyExc_ValueError, "state tree deeper than a key hash");
        return NULL;
    }
    old_key = make_node_key(version, kh0, depth);
    if (old_key == NULL) goto done;
    node = load_node(c, old_key, InternalType, s_load_internal);
    if (node == NULL) goto done;
    if ((hashes_t = tuple_attr(node, s_hashes, SLOTS)) == NULL || (versions_t = tuple_attr(node, s_versions, SLOTS)) == NULL ||
        (counts_t = tuple_attr(node, s_counts, SLOTS)) == NULL || (mask_obj = PyObject_GetAttr(node, s_bucket_mask)) == NULL)
        goto done;
    unsigned long mask = PyLong_AsUnsignedLong(mask_obj);
    if (mask == (unsigned long)-1 && PyErr_Occurred()) goto done;
    for (int s = 0; s < SLOTS; s++) {
        hashes[s] = PyTuple_GET_ITEM(hashes_t, s);
        versions[s] = PyTuple_GET_ITEM(versions_t, s);
        counts[s] = PyTuple_GET_ITEM(counts_t, s);
        Py_INCREF(hashes[s]);
        Py_INCREF(versions[s]);
        Py_INCREF(counts[s]);
    }
    filled = 1;
    for (int s = 0; s < SLOTS; s++) {
        if (!PyBytes_CheckExact(hashes[s]) || PyBytes_GET_SIZE(hashes[s]) != 32) {
            PyErr_SetString(PyExc_TypeError, "malformed state tree internal node");
            goto done;
        }
        version_of[s] = PyLong_AsUnsignedLongLong(versions[s]);
        count_of[s] = PyLong_AsUnsignedLongLong(counts[s]);
        if (PyErr_Occurred()) goto done;
    }
    int changed = 0;
    Py_ssize_t i = lo;
    while (i < hi) {
        int s = nibble_of(item_kh(c, i), depth);
        Py_ssize_t j = i + 1;
        while (j < hi && nibble_of(item_kh(c, j), depth) == s) j++;
        PyObject *r;
        if (count_of[s] == 0) { /* new keys into an empty slot: job.fresh */
            PyObject *d = PyLong_FromLong(depth + 1), *a = PyLong_FromSsize_t(i), *b = PyLong_FromSsize_t(j);
            r = NULL;
            if (d != NULL && a != NULL && b != NULL) {
                PyObject *args[] = {c->job, d, c->items, a, b};
                r = PyObject_VectorcallMethod(s_fresh, args, 5, NULL);
            }
            Py_XDECREF(d);
            Py_XDECREF(a);
            Py_XDECREF(b);
            if (r != NULL && r != SAME && check_written(r) < 0) Py_CLEAR(r);
        } else if (mask >> s & 1) {
            r = bucket_grow(c, version_of[s], depth + 1, i, j);
        } else {
            r = internal_grow(c, version_of[s], depth + 1, i, j);
        }
        if (r == NULL) goto done;
        if (r != SAME) {
            PyObject *h = PyTuple_GET_ITEM(r, 0), *v = PyTuple_GET_ITEM(r, 1), *n = PyTuple_GET_ITEM(r, 2);
            uint64_t vu = PyLong_AsUnsignedLongLong(v), nu = PyLong_AsUnsignedLongLong(n);
            if (PyErr_Occurred()) {
                Py_DECREF(r);
                goto done;
            }
            Py_INCREF(h);
            Py_SETREF(hashes[s], h);
            Py_INCREF(v);
            Py_SETREF(versions[s], v);
            Py_INCREF(n);
            Py_SETREF(counts[s], n);
            version_of[s] = vu;
            count_of[s] = nu;
            int is_bucket = PyObject_IsTrue(PyTuple_GET_ITEM(r, 3));
            if (is_bucket < 0) {
                Py_DECREF(r);
                goto done;
            }
            if (is_bucket)
                mask |= 1UL << s;
            else
                mask &= ~(1UL << s);
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
    if (PyList_Append(c->stale, old_key) < 0) goto done;
    {
        PyObject *new_key = NULL, *encoded = NULL, *th = NULL, *tv = NULL, *tc = NULL, *new_mask = NULL, *internal = NULL,
                 *digest = NULL, *total_obj = NULL;
        uint64_t total = 0;
        int fits = 1;
        for (int s = 0; s < SLOTS; s++) {
            total += count_of[s];
            if (count_of[s] > 0xFFFFFFFFULL) fits = 0;
        }
        if (!fits) {
            PyErr_SetString(PyExc_OverflowError, "a state tree child holds more than 2**32 keys");
            goto done;
        }
        if ((new_key = make_node_key(c->version_u64, kh0, depth)) != NULL &&
            (encoded = PyBytes_FromStringAndSize(NULL, INTERNAL_SIZE)) != NULL) {
            unsigned char *p = (unsigned char *)PyBytes_AS_STRING(encoded);
            *p++ = 'I';
            for (int s = 0; s < SLOTS; s++, p += 32) memcpy(p, PyBytes_AS_STRING(hashes[s]), 32);
            for (int s = 0; s < SLOTS; s++, p += 8) put_be(p, version_of[s], 8);
            for (int s = 0; s < SLOTS; s++, p += 4) put_be(p, count_of[s], 4);
            put_be(p, mask, 2);
            if (append_pair(c->new_nodes, new_key, encoded) == 0 && (th = tuple_of(hashes, SLOTS)) != NULL &&
                (tv = tuple_of(versions, SLOTS)) != NULL && (tc = tuple_of(counts, SLOTS)) != NULL &&
                (new_mask = PyLong_FromUnsignedLong(mask)) != NULL &&
                (internal = PyObject_CallFunctionObjArgs(InternalType, th, tv, tc, new_mask, NULL)) != NULL &&
                PyDict_SetItem(c->decoded, new_key, internal) == 0 &&
                (digest = hash_buffer(InnerHasher, PyBytes_AS_STRING(encoded) + 1, SLOTS * 32)) != NULL &&
                (total_obj = PyLong_FromUnsignedLongLong(total)) != NULL) {
                result = PyTuple_Pack(4, digest, c->version, total_obj, Py_False);
            }
        }
        Py_XDECREF(new_key);
        Py_XDECREF(encoded);
        Py_XDECREF(th);
        Py_XDECREF(tv);
        Py_XDECREF(tc);
        Py_XDECREF(new_mask);
        Py_XDECREF(internal);
        Py_XDECREF(digest);
        Py_XDECREF(total_obj);
    }
done:
    if (filled) {
        for (int s = 0; s < SLOTS; s++) {
            Py_DECREF(hashes[s]);
            Py_DECREF(versions[s]);
            Py_DECREF(counts[s]);
        }
    }
    Py_XDECREF(old_key);
    Py_XDECREF(node);
    Py_XDECREF(hashes_t);
    Py_XDECREF(versions_t);
    Py_XDECREF(counts_t);
    Py_XDECREF(mask_obj);
    return result;
}

/* --- module functions ---------------------------------------------------------------------- */

PyDoc_STRVAR(configure_doc,
             "configure(bucket_type, internal_type, same, leaf_hasher, inner_hasher)\n\n"
             "Set the node types, the unchanged sentinel and the prepared hashers (once, at import).");

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *b, *in, *same, *leaf, *inner;
    if (!PyArg_ParseTuple(args, "OOOOO", &b, &in, &same, &leaf, &inner)) return NULL;
    if (!PyType_Check(b) || !PyType_Check(in)) {
        PyErr_SetString(PyExc_TypeError, "node types expected");
        return NULL;
    }
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
    PyObject *job, *cache, *old, *items, *bmax_obj = NULL;
    int depth;
    Py_ssize_t lo, hi;
    if (!PyArg_ParseTuple(args, "OO!O!iO!nn", &job, &PyDict_Type, &cache, &PyTuple_Type, &old, &depth, &PyList_Type,
                          &items, &lo, &hi))
        return NULL;
    if (BucketType == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_treecore.configure was not called");
        return NULL;
    }
    if (PyTuple_GET_SIZE(old) != 4 || lo < 0 || hi > PyList_GET_SIZE(items) || lo >= hi || depth < 0 ||
        depth >= DEPTH_MAX) {
        PyErr_SetString(PyExc_ValueError, "internal_growing: bad arguments");
        return NULL;
    }
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 4 || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 0)) ||
            PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0)) != KEY_HASH_SIZE || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 2)) ||
            !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 3))) {
            PyErr_SetString(PyExc_TypeError, "internal_growing: items must be (key hash, hex, key, value bytes)");
            return NULL;
        }
        if (i > lo && memcmp(PyBytes_AS_STRING(PyTuple_GET_ITEM(PyList_GET_ITEM(items, i - 1), 0)),
                             PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 0)), KEY_HASH_SIZE) >= 0) {
            PyErr_SetString(PyExc_ValueError, "internal_growing: items must be sorted by key hash, without repeats");
            return NULL;
        }
    }
    uint64_t old_version = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(old, 1));
    if (PyErr_Occurred()) return NULL;
    Ctx c = {.job = job, .cache = cache, .items = items};
    PyObject *result = NULL;
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
    c.bmax = PyLong_AsSsize_t(bmax_obj);
    if (PyErr_Occurred()) goto done;
    result = internal_grow(&c, old_version, depth, lo, hi);
done:
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
    INTERN(s_pairs, "pairs");
    INTERN(s_keys, "keys");
    INTERN(s_values, "values");
    INTERN(s_hashes, "hashes");
    INTERN(s_versions, "versions");
    INTERN(s_counts, "counts");
    INTERN(s_bucket_mask, "bucket_mask");
    INTERN(s_load_bucket, "load_bucket");
    INTERN(s_load_internal, "load_internal");
    INTERN(s_fresh, "fresh");
    INTERN(s_build, "build");
    INTERN(s_version, "version");
    INTERN(s_new_nodes, "new_nodes");
    INTERN(s_stale, "stale");
    INTERN(s_decoded, "decoded");
    INTERN(s_bmax, "bmax");
    return PyModule_Create(&module_def);
}
