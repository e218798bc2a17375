/** The bytes are not a valid image of the format their header claims. */
export class CorruptImageError extends Error {}
