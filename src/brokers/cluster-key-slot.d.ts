/** The package ships no types: Redis Cluster's hash slot of a key (CRC16 of its hash tag, mod 16384). */
declare module 'cluster-key-slot' {
  function keySlot(key: string): number;
  export default keySlot;
}
