"""Address and edit JSON documents: RFC 6901 pointers and RFC 6902 patches."""
