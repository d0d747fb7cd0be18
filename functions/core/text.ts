/** `text` cut to at most `max` characters, ending in an ellipsis when cut (API fields with a length limit). */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
