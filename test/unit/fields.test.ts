// The settings fields' rules: what a typed text commits as it stands, and what leaving the
// field commits (the nearest valid value).
import { describe, expect, it } from 'vitest'
import {
  leaveNumberField,
  nearestNumberField,
  numberFieldProblem,
  parseNumberField,
} from '../../src/shared/number-field'

describe('NumberField rules', () => {
  const steps = { min: 1, max: 500, integer: true }
  it('commits a typed value only once it is a valid one', () => {
    expect(parseNumberField('25', steps)).toBe(25)
    expect(parseNumberField('', steps)).toBeNull()
    expect(parseNumberField('-', steps)).toBeNull()
    expect(parseNumberField('2.5', steps)).toBeNull() // whole numbers only
    expect(parseNumberField('0', steps)).toBeNull() // below the range: typing "0" on the way to "05"
    expect(parseNumberField('501', steps)).toBeNull()
    expect(parseNumberField('1e2', steps)).toBe(100)
    expect(parseNumberField('7.5', { min: 0, max: 50 })).toBe(7.5)
  })
  it('says what the field takes while its text is not a valid value', () => {
    expect(numberFieldProblem('501', steps)).toBe('1 to 500')
    expect(numberFieldProblem('0', steps)).toBe('1 to 500')
    expect(numberFieldProblem('2.5', steps)).toBe('a whole number')
    expect(numberFieldProblem('-', steps)).toBe('a number')
    expect(numberFieldProblem('-5', { min: 0 })).toBe('at least 0')
    expect(numberFieldProblem('9', { max: 8 })).toBe('at most 8')
    expect(numberFieldProblem('25', steps)).toBeNull()
    expect(numberFieldProblem('', steps)).toBeNull() // empty: nothing typed yet, or unset
  })
  it('on leaving the field, commits the nearest valid value, or nothing for a non-number', () => {
    expect(nearestNumberField('501', steps)).toBe(500)
    expect(nearestNumberField('0', steps)).toBe(1)
    expect(nearestNumberField('2.6', steps)).toBe(3)
    expect(nearestNumberField('-3', { min: -180, max: 180 })).toBe(-3)
    expect(nearestNumberField('abc', steps)).toBeNull()
    expect(nearestNumberField('  ', steps)).toBeNull()
    expect(nearestNumberField('1e309', steps)).toBeNull() // Infinity is not a number we keep
  })
  it('leaving a field untouched commits nothing, though its text is the value rounded', () => {
    // a yaw of 30 degrees read back from its quaternion is 29.999999999999993, shown as "30"
    const yaw = { min: -180, max: 180 }
    expect(leaveNumberField('30', '30', yaw)).toBeNull()
    expect(leaveNumberField('30.5', '30', yaw)).toBe(30.5)
    expect(leaveNumberField('200', '30', yaw)).toBe(180)
    expect(leaveNumberField('x', '30', yaw)).toBeNull()
  })
})
