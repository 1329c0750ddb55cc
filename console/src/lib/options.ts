/** Settings: which options the console edits, how each is checked, and what changed (pure). */

export type OptionKind = 'bool' | 'int' | 'float' | 'text' | 'ratios' | 'json'

export interface OptionField {
  key: string
  kind: OptionKind
}

export interface OptionSection {
  id: 'ratios' | 'operations' | 'ratelimit' | 'registration' | 'general'
  fields: OptionField[]
}

export const SECTIONS: OptionSection[] = [
  {
    id: 'ratios',
    fields: [
      { key: 'ModelRatio', kind: 'ratios' },
      { key: 'CompletionRatio', kind: 'ratios' },
      { key: 'ModelPrice', kind: 'ratios' },
      { key: 'CacheRatio', kind: 'ratios' },
      { key: 'CreateCacheRatio', kind: 'ratios' },
      { key: 'GroupRatio', kind: 'ratios' },
      { key: 'UserUsableGroups', kind: 'json' },
    ],
  },
  {
    id: 'operations',
    fields: [
      { key: 'RetryTimes', kind: 'int' },
      { key: 'AutomaticDisableChannelEnabled', kind: 'bool' },
      { key: 'AutomaticEnableChannelEnabled', kind: 'bool' },
      { key: 'ChannelDisableThreshold', kind: 'float' },
      { key: 'AutomaticDisableStatusCodes', kind: 'text' },
      { key: 'AutomaticRetryStatusCodes', kind: 'text' },
      { key: 'AutomaticDisableKeywords', kind: 'text' },
    ],
  },
  {
    id: 'ratelimit',
    fields: [
      { key: 'ModelRequestRateLimitEnabled', kind: 'bool' },
      { key: 'ModelRequestRateLimitDurationMinutes', kind: 'int' },
      { key: 'ModelRequestRateLimitCount', kind: 'int' },
      { key: 'ModelRequestRateLimitSuccessCount', kind: 'int' },
      { key: 'ModelRequestRateLimitGroup', kind: 'json' },
    ],
  },
  {
    id: 'registration',
    fields: [
      { key: 'RegisterEnabled', kind: 'bool' },
      { key: 'PasswordRegisterEnabled', kind: 'bool' },
      { key: 'PasswordLoginEnabled', kind: 'bool' },
      { key: 'QuotaForNewUser', kind: 'int' },
      { key: 'QuotaForInviter', kind: 'int' },
      { key: 'QuotaForInvitee', kind: 'int' },
    ],
  },
  {
    id: 'general',
    fields: [
      { key: 'SystemName', kind: 'text' },
      { key: 'QuotaPerUnit', kind: 'float' },
      { key: 'DisplayInCurrencyEnabled', kind: 'bool' },
      { key: 'LogConsumeEnabled', kind: 'bool' },
      { key: 'DataExportEnabled', kind: 'bool' },
      { key: 'token_setting.max_user_tokens', kind: 'int' },
    ],
  },
]

/** What is wrong with `text` for an option of `kind`, or null when it may be saved. */
export function optionError(kind: OptionKind, text: string): string | null {
  const value = text.trim()
  switch (kind) {
    case 'bool':
      return value === 'true' || value === 'false' ? null : 'must be true or false'
    case 'int':
      return /^-?\d+$/.test(value) ? null : 'must be a whole number'
    case 'float':
      return value !== '' && Number.isFinite(Number(value)) ? null : 'must be a number'
    case 'text':
      return null
    case 'json':
    case 'ratios': {
      let parsed: unknown
      try {
        parsed = JSON.parse(value || '{}')
      } catch (error) {
        return `not valid JSON: ${(error as Error).message}`
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'must be a JSON object'
      if (kind === 'ratios') {
        for (const [name, ratio] of Object.entries(parsed)) {
          if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0) {
            return `"${name}" must map to a number of at least 0`
          }
        }
      }
      return null
    }
  }
}

/** Pretty-print JSON options for editing; others stay as stored. */
export function displayValue(kind: OptionKind, stored: string): string {
  if (kind !== 'json' && kind !== 'ratios') return stored
  try {
    return JSON.stringify(JSON.parse(stored || '{}'), null, 2)
  } catch {
    return stored
  }
}

/** The value to send: JSON compacted (so an unchanged map compares equal), others trimmed. */
export function storedValue(kind: OptionKind, text: string): string {
  if (kind === 'json' || kind === 'ratios') return JSON.stringify(JSON.parse(text.trim() || '{}'))
  return kind === 'text' ? text : text.trim()
}

/** Keys of `fields` whose edited value differs from the stored one. */
export function changedKeys(fields: OptionField[], stored: Record<string, string>, edited: Record<string, string>): string[] {
  return fields
    .filter((field) => {
      const before = stored[field.key] ?? ''
      const after = edited[field.key] ?? ''
      if (optionError(field.kind, after) !== null) return before !== after
      try {
        return storedValue(field.kind, after) !== storedValue(field.kind, before)
      } catch {
        return true
      }
    })
    .map((field) => field.key)
}

/** new-api's text price: ratio 1 = $2 per million prompt tokens. */
export function pricePerMillion(modelRatio: number, groupRatio = 1, completionRatio = 1): number {
  return modelRatio * 2 * groupRatio * completionRatio
}
