/**
 * The slice of the Reflect metadata API that @peculiar/x509 needs before it loads. Its dependency
 * injection (tsyringe) refuses to load unless `Reflect.getMetadata` exists, and calls only
 * getMetadata, getOwnMetadata and defineMetadata while it registers the library's algorithms; the
 * library asks its users for a polyfill. These three, on a WeakMap, are that polyfill. A full one
 * loaded earlier is left in place. Import this module before "@peculiar/x509".
 */
type Key = unknown;
type Property = string | symbol | undefined;

interface MetadataApi {
  defineMetadata(key: Key, value: unknown, target: object, property?: Property): void;
  getOwnMetadata(key: Key, target: object, property?: Property): unknown;
  getMetadata(key: Key, target: object, property?: Property): unknown;
}

const store = new WeakMap<object, Map<Property, Map<Key, unknown>>>();

function own(target: object, property: Property): Map<Key, unknown> | undefined {
  return store.get(target)?.get(property);
}

const api: MetadataApi = {
  defineMetadata(key, value, target, property) {
    let byProperty = store.get(target);
    if (byProperty === undefined) store.set(target, (byProperty = new Map<Property, Map<Key, unknown>>()));
    let values = byProperty.get(property);
    if (values === undefined) byProperty.set(property, (values = new Map<Key, unknown>()));
    values.set(key, value);
  },
  getOwnMetadata(key, target, property) {
    return own(target, property)?.get(key);
  },
  // Metadata is inherited along the prototype chain, as in the proposal the polyfills implement.
  getMetadata(key, target, property) {
    for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
      const values = own(o, property);
      if (values?.has(key) === true) return values.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as typeof Reflect & Partial<MetadataApi>;
if (typeof reflect.getMetadata !== "function") Object.assign(Reflect, api);
