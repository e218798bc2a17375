// User directory search (spec: Client-Server API, "User directory"): "The search
// MUST consider local users to the homeserver, and SHOULD query remote users as
// part of the search. The search is performed case-insensitively on user IDs and
// display names preferably using a collation determined based upon the
// Accept-Language header provided in the request, if present." Which users are
// found follows Synapse: those who share a room with the searcher and those in
// public rooms, or every local user with `user_directory.search_all_users`.
import type { Homeserver } from "../homeserver";
import { MAX_FRAGMENTS, type DirectoryCandidate } from "../store/user-directory";

export const DEFAULT_SEARCH_LIMIT = 10;
/** Beyond this a client is listing the server, not searching it. */
export const MAX_SEARCH_LIMIT = 100;

export interface UserDirectoryResult {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

/** Lower case, compatibility forms folded and accents dropped, so "Zoë" is found by "zoe". */
function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/** The words a user can be found by: their display name's words, the localpart and its parts. */
function searchWords(candidate: DirectoryCandidate): string[] {
  const localpart = fold(candidate.userId.slice(1, candidate.userId.indexOf(":")));
  const words = [localpart, ...localpart.split(/[^\p{L}\p{N}]+/u)];
  if (candidate.displayName) words.push(...fold(candidate.displayName).split(/[^\p{L}\p{N}]+/u));
  return words.filter((word) => word !== "");
}

/**
 * Every word of the search term must begin a word of the user's names (as
 * Synapse's prefix search), or the term must begin the full user id ("@al").
 */
function matches(candidate: DirectoryCandidate, termWords: string[], term: string): boolean {
  if (term.startsWith("@") && fold(candidate.userId).startsWith(term)) return true;
  const words = searchWords(candidate);
  return termWords.every((termWord) => words.some((word) => word.startsWith(termWord)));
}

/**
 * POST /user_directory/search. Users who share a room with the searcher come
 * first, then the rest, each group by display name (or localpart when there is
 * none). `limited` says more users matched than were returned.
 */
export function searchUserDirectory(hs: Homeserver, searcher: string, searchTerm: string, limit: number) {
  const term = fold(searchTerm.trim());
  const termWords = term.replace(/^@/, "").split(/[^\p{L}\p{N}]+/u).filter((word) => word !== "");
  // A term without a letter or digit would list everyone: a listing, not a search.
  if (termWords.length === 0) return { limited: false, results: [] };
  // The store narrows by the longest words with SQLite's LIKE, which folds ASCII
  // case only: a word with other letters is refined here alone.
  const fragments = [...termWords]
    .filter((word) => /^[\x20-\x7e]*$/.test(word))
    .sort((a, b) => b.length - a.length)
    .slice(0, MAX_FRAGMENTS);
  // The store pages candidates in the order of the answer (sharing a room first,
  // then by name, ASCII-case-insensitively), so the search stops at one match
  // past the limit, which is enough to know whether the answer is `limited`.
  const found: DirectoryCandidate[] = [];
  const allUsers = hs.config.user_directory.search_all_users;
  let page = { offset: 0, count: Math.max(100, limit * 4) };
  while (found.length <= limit) {
    const candidates = hs.store.userDirectory.candidates(searcher, fragments, allUsers, page);
    for (const candidate of candidates) {
      if (!matches(candidate, termWords, term)) continue;
      found.push(candidate);
      if (found.length > limit) break;
    }
    if (candidates.length < page.count) break;
    page = { offset: page.offset + page.count, count: page.count * 2 };
  }
  const results: UserDirectoryResult[] = found.slice(0, limit).map((candidate) => {
    const result: UserDirectoryResult = { user_id: candidate.userId };
    if (candidate.displayName) result.display_name = candidate.displayName;
    if (candidate.avatarUrl) result.avatar_url = candidate.avatarUrl;
    return result;
  });
  return { limited: found.length > limit, results };
}
