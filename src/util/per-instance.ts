/**
 * In-memory state that belongs to one server instance (tests run several in one
 * process): `of(hs)` returns that instance's map, made on first use and dropped
 * with the instance.
 */
export function perInstance<K, V>(): (instance: object) => Map<K, V> {
  const maps = new WeakMap<object, Map<K, V>>();
  return (instance) => {
    let map = maps.get(instance);
    if (!map) maps.set(instance, (map = new Map()));
    return map;
  };
}
