import { asc, count, desc, eq } from "drizzle-orm";
import { contentReports } from "../../schema";
import type { Db } from "./db";

export type ContentReportRow = typeof contentReports.$inferSelect;
export type NewContentReport = Omit<typeof contentReports.$inferInsert, "id">;

/** Reports of rooms, events and users, for admins to read. */
export function createReportsStore(db: Db) {
  return {
    insert(report: NewContentReport): number {
      return db.insert(contentReports).values(report).returning({ id: contentReports.id }).get().id;
    },
    list(): ContentReportRow[] {
      return db.select().from(contentReports).orderBy(asc(contentReports.id)).all();
    },
    /** One page of the reports of a kind, oldest or newest first, and how many there are. */
    page(kind: string, options: { offset: number; limit: number; newestFirst: boolean }): { rows: ContentReportRow[]; total: number } {
      const rows = db
        .select()
        .from(contentReports)
        .where(eq(contentReports.kind, kind))
        .orderBy(options.newestFirst ? desc(contentReports.id) : asc(contentReports.id))
        .limit(options.limit)
        .offset(options.offset)
        .all();
      const total = db.select({ n: count() }).from(contentReports).where(eq(contentReports.kind, kind)).get()!.n;
      return { rows, total };
    },
    get(id: number): ContentReportRow | undefined {
      return db.select().from(contentReports).where(eq(contentReports.id, id)).get();
    },
  };
}
